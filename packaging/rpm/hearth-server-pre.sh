# hearth-server %pre: the server's own system account.
getent group hearth-server >/dev/null || groupadd -r hearth-server
getent passwd hearth-server >/dev/null ||
    useradd -r -g hearth-server -d /var/lib/hearth-server -s /sbin/nologin -c "Hearth server" \
        hearth-server
exit 0
