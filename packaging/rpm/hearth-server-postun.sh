# hearth-server %postun: RPM has no purge: /var/lib/hearth-server (CAs, keys, database) is kept on
# erase; changed configuration files are kept as .rpmsave.
if [ -d /run/systemd/system ]; then
    systemctl daemon-reload >/dev/null 2>&1 || :
fi
exit 0
