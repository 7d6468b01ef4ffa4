"""json:// and jsons:// web hooks, sent for a fraction of what Apprise's own send costs.

One chapter with a thousand followers is a thousand POSTs. Through Apprise each costs 2–3 ms of
CPU (requests builds and tears down a session per send and reads the proxy environment twice), which
on two cores is seconds of delay for the last follower; through urllib3 it is under 1 ms. The URL is
still Apprise's to read (its json plugin: host, port, path, +headers, -query arguments, :payload
fields, ?method=, user:password), and the body is the one that plugin builds; only the sending is
ours. tests/test_channels.py holds the two to the same request. Every other service is Apprise's.

The caller runs `post` inside batoshelf.egress.guarded(), which checks each connection and bounds the
whole send in time; a redirect is not followed (its answer is the hook's answer).
"""

import json
from urllib.parse import urlencode

import certifi
import urllib3
from apprise.common import NotifyType
from apprise.plugins.custom_json import NotifyJSON


def handles(plugin):
    """Whether `post` sends for this Apprise plugin (a json:// or jsons:// web hook)."""
    return type(plugin) is NotifyJSON


def request_for(plugin, title, body):
    """(method, url, headers, body bytes): what Apprise's json plugin would send for this message."""
    payload = {
        "version": plugin.json_version,
        "title": title,
        "message": body,
        "attachments": [],
        "type": NotifyType.INFO.value,
    }
    # The URL's :field=name renames a field, :field= drops it, :other=value adds one (as Apprise does).
    for key, value in plugin.payload_extras.items():
        if key not in payload:
            payload[key] = value
        elif value:
            payload[value] = payload.pop(key)
        else:
            del payload[key]
    headers = {"User-Agent": plugin.app_id, "Content-Type": "application/json", **plugin.headers}
    if plugin.user:
        headers["Authorization"] = urllib3.make_headers(basic_auth=f"{plugin.user}:{plugin.password or ''}")[
            "authorization"
        ]
    url = f"{'https' if plugin.secure else 'http'}://{plugin.host}"
    if isinstance(plugin.port, int):
        url += f":{plugin.port}"
    url += plugin.fullpath
    if plugin.params:
        url += "?" + urlencode(plugin.params)
    return plugin.method, url, headers, json.dumps(payload).encode()


def post(plugin, title, body):
    """Send the message to the hook on a connection of its own; the HTTP status it answered. Raises
    urllib3.exceptions.HTTPError when it could not be reached."""
    method, url, headers, data = request_for(plugin, title, body)
    connect, read = plugin.request_timeout
    tls = {"cert_reqs": "CERT_REQUIRED", "ca_certs": certifi.where()} if plugin.secure else {}
    pool = urllib3.connection_from_url(
        url, maxsize=1, retries=False, timeout=urllib3.Timeout(connect=connect, read=read), **tls
    )
    try:
        # Only the status matters: the answer's body is never read (a hook could send gigabytes).
        path = urllib3.util.parse_url(url).request_uri
        return pool.urlopen(method, path, body=data, headers=headers, preload_content=False).status
    finally:
        pool.close()
