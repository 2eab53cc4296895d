"""The password policy staff meet when they choose a password."""

from __future__ import annotations

import pytest

from portal.domain.password_policy import check_policy


@pytest.mark.parametrize("password", ["Password12345", "qwertyuiop123!", "111111111111"])
def test_common_passwords_are_refused(password: str) -> None:
    with pytest.raises(ValueError, match="too common"):
        check_policy(password)
