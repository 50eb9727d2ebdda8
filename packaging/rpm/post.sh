# %post: state and cache directories; tell systemd about the unit.
# The service is not enabled or started (systemctl enable --now runnel).
# runneld runs as root and refuses a compile cache another account could
# write: both directories are root's alone (also on upgrade).
for dir in /var/lib/runnel /var/cache/runnel; do
    mkdir -p "$dir"
    chown root:root "$dir"
    chmod 0700 "$dir"
done
if [ -d /run/systemd/system ]; then
    systemctl daemon-reload >/dev/null 2>&1 || :
    # $1 is 2 or more on upgrade: restart a running service.
    if [ "$1" -ge 2 ] && systemctl is-active --quiet runnel.service; then
        systemctl restart runnel.service >/dev/null 2>&1 || :
    fi
fi
exit 0
