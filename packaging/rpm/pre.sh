# %pre: the runnel system user and group (shadow-utils).
getent group runnel >/dev/null || groupadd -r runnel
getent passwd runnel >/dev/null || \
    useradd -r -g runnel -d /var/lib/runnel -M -s /sbin/nologin \
        -c "runnel code-execution server" runnel
exit 0
