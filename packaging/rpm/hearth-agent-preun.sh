# hearth-agent %preun: stop and disable on erase only ($1 = 0), never on upgrade.
if [ "$1" -eq 0 ] && command -v systemctl >/dev/null 2>&1; then
    if [ -d /run/systemd/system ]; then
        systemctl disable --now hearth-agent.service >/dev/null 2>&1 || :
    else
        systemctl disable hearth-agent.service >/dev/null 2>&1 || :
    fi
fi
exit 0
