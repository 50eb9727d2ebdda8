# %postun: forget the unit. The user, /var/lib/runnel and /var/cache/runnel
# stay (RPM keeps data and accounts; remove them by hand if wanted).
if [ -d /run/systemd/system ]; then
    systemctl daemon-reload >/dev/null 2>&1 || :
fi
exit 0
