# hearth-agent %post: state directory; enable and start on install, restart on upgrade.
mkdir -p /var/lib/hearth
chmod 0755 /var/lib/hearth
if [ -d /run/systemd/system ]; then
    systemctl daemon-reload >/dev/null 2>&1 || :
    if [ "$1" -eq 1 ]; then
        systemctl enable --now hearth-agent.service >/dev/null 2>&1 || :
    else
        systemctl try-restart hearth-agent.service >/dev/null 2>&1 || :
    fi
elif [ "$1" -eq 1 ] && command -v systemctl >/dev/null 2>&1; then
    systemctl enable hearth-agent.service >/dev/null 2>&1 || :
fi
exit 0
