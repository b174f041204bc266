#!/usr/bin/env python3
"""Prints wrk-ready headers of a request signed as the 21.03 client signs it (HMAC-SHA256 over
method, path, date, host, content type, API version and the empty-body hash; the key derived
from the secret, the day and the host).  A signature stays valid for 15 minutes, longer than a
benchmark run.  Usage: sign.py METHOD PATH HOST ACCESS_KEY SECRET_KEY CONTENT_TYPE"""
import datetime
import hashlib
import hmac
import sys

method, path, host, access_key, secret_key, content_type = sys.argv[1:7]
api_version = "v6.20210815"
now = datetime.datetime.now(datetime.timezone.utc)
date = now.isoformat()
body_hash = hashlib.sha256(b"").hexdigest()
sign_str = f"{method}\n{path}\n{date}\nhost:{host}\ncontent-type:{content_type}\nx-backendai-version:{api_version}\n{body_hash}"
key = hmac.new(secret_key.encode(), now.strftime("%Y%m%d").encode(), hashlib.sha256).digest()
key = hmac.new(key, host.encode(), hashlib.sha256).digest()
signature = hmac.new(key, sign_str.encode(), hashlib.sha256).hexdigest()
print(f"Date: {date}")
print(f"X-BackendAI-Version: {api_version}")
print(f"Content-Type: {content_type}")
print(f"Authorization: BackendAI signMethod=HMAC-SHA256, credential={access_key}:{signature}")
