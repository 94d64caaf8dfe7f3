"""Sends one message with Python's smtplib: an independent SMTP client for the relay tests.

usage: smtp_send.py HOST PORT USER PASSWORD FROM TO SUBJECT [--starttls]
Prints "OK <reply>" or "REFUSED <code> <text>" and exits 0 either way (1 on other errors).
"""
import smtplib
import ssl
import sys
from email.message import EmailMessage

host, port, user, password, sender, recipient, subject = sys.argv[1:8]
starttls = "--starttls" in sys.argv[8:]

message = EmailMessage()
message["From"] = sender
message["To"] = recipient
message["Subject"] = subject
message.set_content("Sent by Python smtplib.\n.a line that starts with a dot\n")

with smtplib.SMTP(host, int(port), local_hostname="python.client.test", timeout=30) as smtp:
    smtp.ehlo()
    if starttls:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        smtp.starttls(context=context)
        smtp.ehlo()
    try:
        if user:
            smtp.login(user, password)
        refused = smtp.send_message(message, from_addr=sender, to_addrs=[recipient])
    except smtplib.SMTPResponseException as error:
        print("REFUSED", error.smtp_code, error.smtp_error.decode("utf-8", "replace"))
        sys.exit(0)
    except smtplib.SMTPRecipientsRefused as error:
        code, text = list(error.recipients.values())[0]
        print("REFUSED", code, text.decode("utf-8", "replace"))
        sys.exit(0)
    print("OK", refused)
