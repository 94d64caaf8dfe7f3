#!/usr/bin/env python3
"""Encrypt strings with NSS SDR, the way Thunderbird's login manager does, using Thunderbird's own NSS.

    LD_LIBRARY_PATH=/usr/lib/thunderbird python3 nss_sdr.py PROFILE_DIR /usr/lib/thunderbird/libnss3.so

reads a JSON array of strings on stdin and writes a JSON array of base64 SDR ciphertexts on stdout.
PROFILE_DIR/key4.db is created with an empty primary password when it does not exist yet, so
Thunderbird opens it without ever asking for a password.
"""
import base64
import ctypes
import json
import sys


class SECItem(ctypes.Structure):
    _fields_ = [("type", ctypes.c_uint), ("data", ctypes.POINTER(ctypes.c_ubyte)), ("len", ctypes.c_uint)]


def main() -> int:
    profile, libnss = sys.argv[1], sys.argv[2]
    nss = ctypes.CDLL(libnss)
    nss.NSS_InitReadWrite.argtypes = [ctypes.c_char_p]
    nss.PK11_GetInternalKeySlot.restype = ctypes.c_void_p
    nss.PK11_NeedUserInit.argtypes = [ctypes.c_void_p]
    nss.PK11_InitPin.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_char_p]
    nss.PK11_FreeSlot.argtypes = [ctypes.c_void_p]
    nss.PK11SDR_Encrypt.argtypes = [ctypes.POINTER(SECItem)] * 3 + [ctypes.c_void_p]
    nss.SECITEM_FreeItem.argtypes = [ctypes.POINTER(SECItem), ctypes.c_int]

    if nss.NSS_InitReadWrite(("sql:" + profile).encode()) != 0:
        raise SystemExit(f"NSS_InitReadWrite failed for {profile}")
    slot = nss.PK11_GetInternalKeySlot()
    if nss.PK11_NeedUserInit(slot) and nss.PK11_InitPin(slot, None, b"") != 0:
        raise SystemExit("PK11_InitPin failed")
    nss.PK11_FreeSlot(slot)

    out = []
    for text in json.load(sys.stdin):
        raw = text.encode("utf-8")
        buf = (ctypes.c_ubyte * len(raw)).from_buffer_copy(raw)
        data = SECItem(0, ctypes.cast(buf, ctypes.POINTER(ctypes.c_ubyte)), len(raw))
        key_id = SECItem(0, None, 0)
        result = SECItem(0, None, 0)
        if nss.PK11SDR_Encrypt(ctypes.byref(key_id), ctypes.byref(data), ctypes.byref(result), None) != 0:
            raise SystemExit("PK11SDR_Encrypt failed")
        out.append(base64.b64encode(ctypes.string_at(result.data, result.len)).decode("ascii"))
        nss.SECITEM_FreeItem(ctypes.byref(result), 0)
    nss.NSS_Shutdown()
    json.dump(out, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
