#!/bin/sh
# digest's daily job, written by `digest init --cron`: fetch the new days, build the site,
# send the email. Running it twice does nothing twice (a day saved is not fetched again, an
# address that got a day is skipped). The exit status is 0 when every step worked, else the
# failing step's, so cron (which mails a failing run's output when MAILTO is set) notices.
#   crontab line:  17 7 * * * /path/to/project/digest-daily.sh >> /path/to/project/.digest-daily.log 2>&1
# Set DIGEST_SEND_EMAIL=no to skip the email; the SMTP password comes from the environment
# variable email.smtp.password_env names (DIGEST_SMTP_PASSWORD by default).
set -eu
cd "$(dirname "$0")"
PYTHON="${DIGEST_PYTHON:-@PYTHON@}"
# One process fetches, ingests and builds, reading the archive once; when the API cannot be
# reached it still builds what is saved, then fails.
"$PYTHON" -m digest build --fetch
if [ "${DIGEST_SEND_EMAIL:-yes}" != no ]; then
  "$PYTHON" -m digest email --send
fi
