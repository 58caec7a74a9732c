# hearth-agent %pre: the uploader's system account (service_user in agent.conf).
getent group hearth >/dev/null || groupadd -r hearth
getent passwd hearth >/dev/null ||
    useradd -r -g hearth -d / -s /sbin/nologin -c "Hearth agent uploader" hearth
exit 0
