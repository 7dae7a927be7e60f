#!/bin/sh
# Start one Kezhuan process: KEZHUAN_APP=ownership|pricing|exemption|finance|evaluation|gateway.
set -eu
: "${KEZHUAN_APP:?set KEZHUAN_APP to ownership, pricing, exemption, finance, evaluation or gateway}"
exec uvicorn "${KEZHUAN_APP}.app:create_app" --factory --host 0.0.0.0 --port "${PORT:-8000}" --no-access-log --proxy-headers
