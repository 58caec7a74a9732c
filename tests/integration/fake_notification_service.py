#!/usr/bin/python3
"""A tiny org.freedesktop.Notifications service for tests (python3-gi, no other dependency).

Usage: fake_notification_service.py BUS_ADDRESS RECORD_FILE [CAPABILITY ...]

Connects to the session bus at BUS_ADDRESS, owns org.freedesktop.Notifications, and appends one
JSON object per Notify call to RECORD_FILE (flushed and fsynced before the reply is sent, so a
caller that got the reply can read the record):
  {"app_name": ..., "replaces_id": ..., "app_icon": ..., "summary": ..., "body": ...,
   "actions": [...], "hints": {...}, "expire_timeout": ..., "sender_uid": ...}
GetCapabilities answers the CAPABILITY arguments (default: body). Once the name is owned it
prints "ready" on stdout, so the test can wait for it without sleeping. Exits when the bus goes
away or on SIGTERM.

What the person does with a notification, for the test to play (interface org.hearth.Test at
/org/hearth/Test): Invoke(u id, s key) sends ActionInvoked(id, key) and Close(u id) sends
NotificationClosed(id, 2) (dismissed by the user), each to the connection that called Notify for
that id, as GNOME Shell does. A Notify whose replaces_id is a shown id keeps that id.
"""
import json
import os
import signal
import sys

from gi.repository import Gio, GLib

INTROSPECTION = """
<node>
  <interface name="org.freedesktop.Notifications">
    <method name="Notify">
      <arg type="s" name="app_name" direction="in"/>
      <arg type="u" name="replaces_id" direction="in"/>
      <arg type="s" name="app_icon" direction="in"/>
      <arg type="s" name="summary" direction="in"/>
      <arg type="s" name="body" direction="in"/>
      <arg type="as" name="actions" direction="in"/>
      <arg type="a{sv}" name="hints" direction="in"/>
      <arg type="i" name="expire_timeout" direction="in"/>
      <arg type="u" name="id" direction="out"/>
    </method>
    <method name="GetCapabilities">
      <arg type="as" name="capabilities" direction="out"/>
    </method>
    <method name="GetServerInformation">
      <arg type="s" name="name" direction="out"/>
      <arg type="s" name="vendor" direction="out"/>
      <arg type="s" name="version" direction="out"/>
      <arg type="s" name="spec_version" direction="out"/>
    </method>
    <method name="CloseNotification">
      <arg type="u" name="id" direction="in"/>
    </method>
    <signal name="ActionInvoked">
      <arg type="u" name="id"/>
      <arg type="s" name="action_key"/>
    </signal>
    <signal name="NotificationClosed">
      <arg type="u" name="id"/>
      <arg type="u" name="reason"/>
    </signal>
  </interface>
</node>
"""

TEST_INTROSPECTION = """
<node>
  <interface name="org.hearth.Test">
    <method name="Invoke">
      <arg type="u" name="id" direction="in"/>
      <arg type="s" name="key" direction="in"/>
    </method>
    <method name="Close">
      <arg type="u" name="id" direction="in"/>
    </method>
  </interface>
</node>
"""


def main():
    if len(sys.argv) < 3:
        sys.stderr.write(__doc__)
        return 2
    address, record_file = sys.argv[1], sys.argv[2]
    capabilities = sys.argv[3:] or ["body"]
    loop = GLib.MainLoop()
    counter = [0]
    senders = {}  # notification id -> the unique name that showed it

    conn = Gio.DBusConnection.new_for_address_sync(
        address,
        Gio.DBusConnectionFlags.AUTHENTICATION_CLIENT
        | Gio.DBusConnectionFlags.MESSAGE_BUS_CONNECTION,
        None, None)
    conn.connect("closed", lambda *args: loop.quit())

    def sender_uid(sender):
        reply = conn.call_sync("org.freedesktop.DBus", "/org/freedesktop/DBus",
                               "org.freedesktop.DBus", "GetConnectionUnixUser",
                               GLib.Variant("(s)", (sender,)), GLib.VariantType("(u)"),
                               Gio.DBusCallFlags.NONE, 2000, None)
        return reply.unpack()[0]

    def on_call(connection, sender, path, interface, method, params, invocation):
        if method == "Notify":
            (app_name, replaces_id, app_icon, summary, body, actions, hints,
             expire_timeout) = params.unpack()
            if replaces_id in senders:
                shown_id = replaces_id
            else:
                counter[0] += 1
                shown_id = counter[0]
            senders[shown_id] = sender
            record = {
                "app_name": app_name, "replaces_id": replaces_id, "app_icon": app_icon,
                "summary": summary, "body": body, "actions": actions,
                "hints": {k: str(v) for k, v in hints.items()},
                "expire_timeout": expire_timeout, "sender_uid": sender_uid(sender),
                "id": shown_id,
            }
            with open(record_file, "a", encoding="utf-8") as f:
                f.write(json.dumps(record) + "\n")
                f.flush()
                os.fsync(f.fileno())
            invocation.return_value(GLib.Variant("(u)", (shown_id,)))
        elif method == "GetCapabilities":
            invocation.return_value(GLib.Variant("(as)", (capabilities,)))
        elif method == "GetServerInformation":
            invocation.return_value(GLib.Variant("(ssss)", ("fake", "hearth-tests", "1", "1.2")))
        else:
            invocation.return_value(None)

    def on_test_call(connection, sender, path, interface, method, params, invocation):
        if method == "Invoke":
            nid, key = params.unpack()
            signal_name, args = "ActionInvoked", GLib.Variant("(us)", (nid, key))
        else:
            (nid,) = params.unpack()
            signal_name, args = "NotificationClosed", GLib.Variant("(uu)", (nid, 2))
        if nid not in senders:
            invocation.return_dbus_error("org.hearth.Test.Error.UnknownId", "no such notification")
            return
        conn.emit_signal(senders[nid], "/org/freedesktop/Notifications",
                         "org.freedesktop.Notifications", signal_name, args)
        invocation.return_value(None)

    node = Gio.DBusNodeInfo.new_for_xml(INTROSPECTION)
    conn.register_object("/org/freedesktop/Notifications", node.interfaces[0], on_call, None,
                         None)
    test_node = Gio.DBusNodeInfo.new_for_xml(TEST_INTROSPECTION)
    conn.register_object("/org/hearth/Test", test_node.interfaces[0], on_test_call, None, None)
    reply = conn.call_sync("org.freedesktop.DBus", "/org/freedesktop/DBus",
                           "org.freedesktop.DBus", "RequestName",
                           GLib.Variant("(su)", ("org.freedesktop.Notifications", 4)),
                           GLib.VariantType("(u)"), Gio.DBusCallFlags.NONE, 5000, None)
    if reply.unpack()[0] != 1:  # DBUS_REQUEST_NAME_REPLY_PRIMARY_OWNER
        sys.stderr.write("could not own org.freedesktop.Notifications\n")
        return 1
    GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, signal.SIGTERM, loop.quit)
    print("ready", flush=True)
    loop.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
