#!/bin/sh
# The compose deployment's nightly backup (deploy/compose.yaml, service "backup"): an
# encrypted `portal backup` at start and then every BACKUP_EVERY_SECONDS (default one
# day), into BACKUP_DIR (default /var/backups/portal); backups older than
# BACKUP_KEEP_DAYS (default 14) are deleted after a successful one. Encrypted to the
# public key(s) in PORTAL_BACKUP_RECIPIENTS (portal.env): nothing here can open them.
# A failed backup is one line on stderr and is retried at the next round; the service's
# health check (`portal backup --check-age 26h`) turns the container unhealthy when no
# backup has succeeded for 26 hours.
set -u
dir=${BACKUP_DIR:-/var/backups/portal}
every=${BACKUP_EVERY_SECONDS:-86400}
keep_days=${BACKUP_KEEP_DAYS:-14}
umask 077
while :; do
    file="$dir/portal-$(date -u +%Y%m%dT%H%M%SZ).backup"
    if portal backup "$file"; then
        find "$dir" -name 'portal-*.backup' -mtime +"$keep_days" -delete
    else
        echo "backup-loop: the backup failed; trying again in $every seconds" >&2
        rm -f "$file"
    fi
    sleep "$every" &
    wait $!  # a signal (compose stop) ends the wait at once
done
