# hearth-server %post: private state directory (server.conf is 0640 root:hearth-server through
# %attr in the file list);
# enable and start on install (inactive until `hearth-server init`), restart on upgrade.
mkdir -p /var/lib/hearth-server
chown hearth-server:hearth-server /var/lib/hearth-server
chmod 0700 /var/lib/hearth-server
if [ -d /run/systemd/system ]; then
    systemctl daemon-reload >/dev/null 2>&1 || :
    if [ "$1" -eq 1 ]; then
        systemctl enable --now hearth-server.service >/dev/null 2>&1 || :
    else
        systemctl try-restart hearth-server.service >/dev/null 2>&1 || :
    fi
elif [ "$1" -eq 1 ] && command -v systemctl >/dev/null 2>&1; then
    systemctl enable hearth-server.service >/dev/null 2>&1 || :
fi
exit 0
