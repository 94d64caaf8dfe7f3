"""An independent POP3 client for the tests: Python's poplib.

Usage: poplib_client.py HOST PORT USER PASSWORD [--stls CAFILE] [--dele N ...] [--top N LINES]
Logs in (STLS first when asked), then prints one JSON object: capabilities, STAT, UIDL, every message
retrieved (as poplib returns it, byte-unstuffed, joined with CRLF, base64), TOP when asked; marks the
--dele messages and QUITs.
"""
import base64
import json
import poplib
import ssl
import sys


def main(argv):
    host, port, user, password = argv[0], int(argv[1]), argv[2], argv[3]
    rest = argv[4:]
    cafile = None
    deletions = []
    top = None
    while rest:
        flag = rest.pop(0)
        if flag == '--stls':
            cafile = rest.pop(0)
        elif flag == '--dele':
            deletions.append(int(rest.pop(0)))
        elif flag == '--top':
            top = (int(rest.pop(0)), int(rest.pop(0)))
        else:
            raise SystemExit(f'unknown flag {flag}')

    client = poplib.POP3(host, port, timeout=30)
    result = {'greeting': client.getwelcome().decode('latin1')}
    result['capa_before'] = sorted(client.capa().keys())
    if cafile is not None:
        context = ssl.create_default_context(cafile=cafile)
        context.check_hostname = False
        client.stls(context=context)
        result['capa_after_stls'] = sorted(client.capa().keys())
    client.user(user)
    client.pass_(password)
    count, octets = client.stat()
    result['stat'] = [count, octets]
    result['uidl'] = [line.decode('latin1') for line in client.uidl()[1]]
    messages = []
    for number in range(1, count + 1):
        _, lines, _ = client.retr(number)
        messages.append(base64.b64encode(b'\r\n'.join(lines) + b'\r\n').decode('ascii'))
    result['messages'] = messages
    if top is not None:
        _, lines, _ = client.top(top[0], top[1])
        result['top'] = [line.decode('latin1') for line in lines]
    for number in deletions:
        client.dele(number)
    result['quit'] = client.quit().decode('latin1')
    print(json.dumps(result))


if __name__ == '__main__':
    main(sys.argv[1:])
