"""Anonymous intake portal: anonymous meetings between clients and investigators."""
