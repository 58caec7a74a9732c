# hearth-agent %postun: RPM has no purge: the state in /var/lib/hearth is kept on erase (remove it
# by hand to forget the enrolment); changed configuration files are kept as .rpmsave.
if [ -d /run/systemd/system ]; then
    systemctl daemon-reload >/dev/null 2>&1 || :
fi
exit 0
