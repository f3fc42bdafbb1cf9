#!/usr/bin/env bash
# The Debian packages as an operator installs them: build them with CPack, install skynetd and
# skynetd-tools with dpkg on this machine, check what the install made (binaries, the unit, the
# conffile, the system user and /var/lib/skynetd), validate the packaged config as the daemon's
# user, verify the installed unit with systemd-analyze, then purge both and check that nothing
# is left. Needs root (dpkg); exits 77 (skipped) otherwise.
#   package_test.sh BUILD_DIR
set -euo pipefail
build_dir=$(cd "$1" && pwd)
if [ "$(id -u)" -ne 0 ]; then
  echo "package test: needs root for dpkg -i; skipped"
  exit 77
fi
fail() { echo "package test: FAILED: $*"; exit 1; }

out=$(mktemp -d)
cleanup() {
  dpkg --purge skynetd-tools skynetd >/dev/null 2>&1 || true
  rm -rf "$out"
}
trap cleanup EXIT
# A leftover of an interrupted run would make dpkg -i an upgrade: start clean.
dpkg --purge skynetd-tools skynetd >/dev/null 2>&1 || true

(cd "$build_dir" && cpack -G DEB -B "$out" >"$out/cpack.log" 2>&1) || { cat "$out/cpack.log"; fail "cpack"; }
daemon_deb=$(ls "$out"/skynetd_*.deb)
tools_deb=$(ls "$out"/skynetd-tools_*.deb)
echo "package test: built $(basename "$daemon_deb") and $(basename "$tools_deb")"
# (Outputs are read whole: `cmd | grep -q` under pipefail fails when grep stops reading early.)
info=$(dpkg-deb --info "$daemon_deb")
grep -q 'Depends:.*gstreamer1.0-libav' <<<"$info" || fail "skynetd does not depend on gstreamer1.0-libav"
contents=$(dpkg-deb --contents "$daemon_deb")
grep -q './usr/bin/skynet-camsim' <<<"$contents" && fail "the simulator is in the daemon package"

DEBIAN_FRONTEND=noninteractive dpkg -i "$daemon_deb" "$tools_deb" >"$out/dpkg.log" 2>&1 || { cat "$out/dpkg.log"; fail "dpkg -i"; }

for f in /usr/bin/skynetd /usr/bin/skynetctl /usr/bin/skynet-relay /usr/bin/skynet-camsim \
         /lib/systemd/system/skynetd.service /etc/skynetd/skynetd.yaml; do
  [ -e "$f" ] || fail "$f not installed"
done
conffiles=$(dpkg-query -W -f='${Conffiles}\n' skynetd)
grep -q '/etc/skynetd/skynetd.yaml' <<<"$conffiles" || fail "skynetd.yaml is not a conffile"
getent passwd skynetd >/dev/null || fail "no system user skynetd"
[ "$(stat -c '%U:%G %a' /var/lib/skynetd)" = "skynetd:skynetd 750" ] || fail "/var/lib/skynetd is $(stat -c '%U:%G %a' /var/lib/skynetd)"
[ "$(stat -c '%U:%G %a' /etc/skynetd/skynetd.yaml)" = "root:skynetd 640" ] || fail "skynetd.yaml is $(stat -c '%U:%G %a' /etc/skynetd/skynetd.yaml)"

# The unit's ExecStartPre, as the daemon's own user.
runuser -u skynetd -- /usr/bin/skynetd --check-config /etc/skynetd/skynetd.yaml || fail "check-config of the packaged config"
/usr/bin/skynetctl --help >/dev/null || fail "skynetctl --help"
systemd-analyze verify /lib/systemd/system/skynetd.service || fail "systemd-analyze verify"

dpkg --purge skynetd-tools skynetd >"$out/purge.log" 2>&1 || { cat "$out/purge.log"; fail "dpkg --purge"; }
for f in /usr/bin/skynetd /usr/bin/skynet-camsim /lib/systemd/system/skynetd.service /etc/skynetd /var/lib/skynetd; do
  [ ! -e "$f" ] || fail "$f left after purge"
done
getent passwd skynetd >/dev/null && fail "user skynetd left after purge"
echo "package test: installed, checked and purged"
