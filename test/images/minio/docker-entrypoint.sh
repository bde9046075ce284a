#!/bin/sh
# As in the official minio/minio image: a command that does not start with "minio"
# gets it prepended ("server /data" -> "minio server /data").
set -e
if [ "${1}" != "minio" ]; then
    if [ -n "${1}" ]; then
        set -- minio "$@"
    fi
fi
exec "$@"
