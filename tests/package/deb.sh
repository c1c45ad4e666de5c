#!/usr/bin/env bash
# The amd64 Debian package, installed for real on this machine (issue 19): every file
# with its mode and owner, the users and the state directory, the installed units
# through `systemd-analyze verify`, an election package loaded with the installed
# binary, an upgrade to a newer build that leaves the election's data byte for byte as
# it was, a remove and a purge that keep it, and the purge's message.
#
#   tests/package/deb.sh OLD.deb NEW.deb     (as root; NEW has a higher version)
#
# It changes the machine (dpkg, users, /var/lib/valgbord), so `cargo test` never runs
# it: .ci/run does, on its throw-away CI machine. It refuses to start where valgbord is
# already installed or its user or data exist, and puts the machine back as it found it
# at the end (also when a check fails): package purged, the users, groups and folders
# it created removed.
set -euo pipefail

OLD="${1:?usage: deb.sh OLD.deb NEW.deb}"
NEW="${2:?usage: deb.sh OLD.deb NEW.deb}"
SRC="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
for f in "$OLD" "$NEW"; do
    [ -f "$f" ] || { echo "deb.sh: no package $f (build it with cargo deb first)" >&2; exit 1; }
done
[ "$(id -u)" -eq 0 ] || { echo "deb.sh: run as root (it installs the package)" >&2; exit 1; }
if dpkg-query -W -f='${Status}' valgbord 2>/dev/null | grep -q installed ||
    getent passwd valgbord >/dev/null || getent passwd valgbord-kiosk >/dev/null ||
    [ -e /var/lib/valgbord ] || [ -e /etc/valgbord ]; then
    echo "deb.sh: valgbord (package, user or /var/lib/valgbord) is already on this machine; it runs on a clean one only" >&2
    exit 1
fi
had_gpio=no
getent group gpio >/dev/null && had_gpio=yes
WORK="$(mktemp -d)"
chmod 0755 "$WORK"   # the valgbord user reads the election package from here

cleanup() {
    dpkg --purge valgbord >/dev/null 2>&1 || true
    rm -rf /var/lib/valgbord /etc/valgbord "$WORK"
    for u in valgbord valgbord-kiosk; do
        getent passwd "$u" >/dev/null && userdel "$u" 2>/dev/null || true
        getent group "$u" >/dev/null && groupdel "$u" 2>/dev/null || true
    done
    if [ "$had_gpio" = no ] && getent group gpio >/dev/null; then groupdel gpio || true; fi
}
trap cleanup EXIT

fails=0
fail() { echo "FAIL: $*" >&2; fails=$((fails + 1)); }
ok() { echo "ok: $*"; }
# expect PATH MODE OWNER:GROUP: the installed file or folder has exactly these.
expect() {
    local got
    got="$(stat -c '%a %U:%G' "$1" 2>/dev/null || echo missing)"
    if [ "$got" = "$2 $3" ]; then ok "$1 $got"; else fail "$1 is '$got', want '$2 $3'"; fi
}
# same SOURCE INSTALLED: the package installed the file from the source unchanged.
same() { if cmp -s "$1" "$2"; then ok "$2 = ${1#"$SRC"/}"; else fail "$2 differs from $1"; fi; }
# The state directory's files with their checksums: what "nothing lost" compares.
state_sums() { (cd /var/lib/valgbord && find . -type f -print0 | sort -z | xargs -0 sha256sum); }

echo "== dpkg -i $(basename "$OLD")"
said="$(dpkg -i "$OLD" 2>&1)" || { echo "$said"; fail "dpkg -i $OLD"; exit 1; }
echo "$said"
grep -q "no service is enabled or started yet" <<<"$said" || fail "postinst said nothing about enabling the units"

echo "== files, modes, owners"
units=(valgbord-table.service valgbord-kiosk.service valgbord-central.service)
want_files=(
    "/usr/bin/valgbord 755"
    "/usr/lib/valgbord/kiosk-browser 755"
    "/usr/lib/udev/rules.d/99-valgbord.rules 644"
    "/usr/lib/systemd/journald.conf.d/valgbord.conf 644"
    "/usr/share/man/man1/valgbord.1.gz 644"
    "/usr/share/doc/valgbord/copyright 644"
    "/usr/share/doc/valgbord/README.md 644"
    "/usr/share/doc/valgbord/ARCHITECTURE.md 644"
    "/usr/share/doc/valgbord/examples/table.toml 644"
    "/usr/share/doc/valgbord/examples/central.toml 644"
)
for u in "${units[@]}"; do want_files+=("/usr/lib/systemd/system/$u 644"); done
for md in "$SRC"/hardware/*.md; do want_files+=("/usr/share/doc/valgbord/hardware/${md##*/} 644"); done
for entry in "${want_files[@]}"; do expect "${entry% *}" "${entry##* }" root:root; done
# Nothing installed that the list above does not name (folders aside).
while read -r path; do
    [ -d "$path" ] && continue
    found=no
    for entry in "${want_files[@]}"; do [ "${entry% *}" = "$path" ] && found=yes; done
    # changelog.gz, if cargo-deb adds one, is documentation too.
    [[ "$path" == /usr/share/doc/valgbord/changelog* ]] && found=yes
    [ "$found" = yes ] || fail "unexpected file in the package: $path"
done < <(dpkg -L valgbord)
for u in "${units[@]}"; do same "$SRC/systemd/$u" "/usr/lib/systemd/system/$u"; done
same "$SRC/hardware/99-valgbord.rules" /usr/lib/udev/rules.d/99-valgbord.rules
same "$SRC/packaging/kiosk-browser" /usr/lib/valgbord/kiosk-browser
same "$SRC/config/table.toml" /usr/share/doc/valgbord/examples/table.toml
same "$SRC/config/central.toml" /usr/share/doc/valgbord/examples/central.toml
grep -qx 'Storage=volatile' /usr/lib/systemd/journald.conf.d/valgbord.conf && ok "journal in RAM only" ||
    fail "journald.conf.d/valgbord.conf does not say Storage=volatile"
zcat /usr/share/man/man1/valgbord.1.gz >"$WORK/man.txt"
grep -q 'election' "$WORK/man.txt" && ok "man page lists the commands" ||
    fail "the man page does not list the commands"
expect /var/lib/valgbord 700 valgbord:valgbord
expect /etc/valgbord 755 root:root
[ "$(readlink /etc/valgbord/table.toml)" = /var/lib/valgbord/table.toml ] &&
    ok "/etc/valgbord/table.toml links to the loaded configuration" ||
    fail "/etc/valgbord/table.toml is not a link to /var/lib/valgbord/table.toml"
got="$(getent passwd valgbord | cut -d: -f3,6,7)"
uid="${got%%:*}"
if [ "$uid" -lt 1000 ] && [ "${got#*:}" = /var/lib/valgbord:/usr/sbin/nologin ]; then
    ok "system user valgbord ($got)"
else
    fail "user valgbord is '$got', want a system uid, home /var/lib/valgbord, no login"
fi
getent passwd valgbord-kiosk | grep -q ':/usr/sbin/nologin$' && ok "system user valgbord-kiosk" ||
    fail "no user valgbord-kiosk"
getent group gpio >/dev/null && ok "group gpio" || fail "no group gpio"
for g in input dialout lp gpio; do
    getent group "$g" >/dev/null || fail "no group $g (valgbord-table.service's SupplementaryGroups)"
done
if id -nG valgbord-kiosk | tr ' ' '\n' | grep -qx input; then fail "valgbord-kiosk is in group input"; fi
# Installed, not enabled: no unit is wanted by any target until the operator enables it.
if ls /etc/systemd/system/*.wants/valgbord-* >/dev/null 2>&1; then
    fail "a unit was enabled at install: $(ls /etc/systemd/system/*.wants/valgbord-*)"
else
    ok "no unit enabled"
fi

echo "== systemd-analyze verify (installed units)"
# The table and the central as installed, on this machine; the kiosk in a copy of the
# unit directory with cage stubbed (cage is not installed on a CI machine or a server).
said="$(systemd-analyze verify --man=no --generators=no \
    /usr/lib/systemd/system/valgbord-table.service /usr/lib/systemd/system/valgbord-central.service 2>&1)" ||
    fail "systemd-analyze verify failed: $said"
[ -z "$said" ] && ok "table and central units verify" || fail "systemd-analyze verify said: $said"
root="$WORK/root"
mkdir -p "$root/usr/lib" "$root/usr/bin" "$root/etc/systemd/system"
cp -a /usr/lib/systemd "$root/usr/lib/"
mkdir -p "$root/usr/lib/valgbord"
cp /usr/lib/valgbord/kiosk-browser "$root/usr/lib/valgbord/"
printf '#!/bin/sh\nexit 0\n' >"$root/usr/bin/cage"
chmod 755 "$root/usr/bin/cage"
said="$(systemd-analyze verify --root="$root" --man=no --generators=no valgbord-kiosk.service 2>&1)" ||
    fail "systemd-analyze verify kiosk failed: $said"
[ -z "$said" ] && ok "kiosk unit verifies" || fail "systemd-analyze verify kiosk said: $said"

echo "== the installed binary: an election package loaded"
version="$(/usr/bin/valgbord --version)"
want="valgbord $(grep -m1 '^version' "$SRC/Cargo.toml" | cut -d'"' -f2)"
[ "$version" = "$want" ] && ok "$version" || fail "valgbord --version says '$version', want '$want'"
V=/usr/bin/valgbord
$V voters generate --count 300 --places 1 --out "$WORK/valgliste.csv" >/dev/null
$V office keygen --secret "$WORK/office.secret" --public "$WORK/office.pub" >/dev/null
install -m 0644 "$WORK/office.pub" /etc/valgbord/office.pub
key="$(runuser -u valgbord -- $V key init --key /var/lib/valgbord/device.key |
    grep -oE '\b[0-9a-f]{64}\b' | head -n 1)"
[ -n "$key" ] || fail "key init printed no public key"
printf 'place,role,table_no,key\n1,table,1,%s\n' "$key" >"$WORK/enrol.csv"
printf 'name,role,pin_hash\nAnne Sørensen,valgsekretaer,%s\n' "$(echo 246810 | $V pin hash)" >"$WORK/officials.csv"
$V election new --id kv-pakke --name "Kommunalvalg" --date 2025-11-18 --contests KV+RV \
    --list "$WORK/valgliste.csv" --office-secret "$WORK/office.secret" --enrol "$WORK/enrol.csv" \
    --officials "$WORK/officials.csv" --address 1:1=https://127.0.0.1:8443 --out "$WORK/usb" >/dev/null
chmod -R a+rX "$WORK/usb"
said="$(runuser -u valgbord -- $V election load --package "$WORK/usb/valgsted-1" \
    --office-key /etc/valgbord/office.pub --state /var/lib/valgbord 2>&1)" ||
    { echo "$said"; fail "election load with the installed binary"; exit 1; }
grep -q 300 <<<"$said" && ok "election load: 300 voters" || fail "election load did not report 300 voters: $said"
for f in valgbord.db device.key table.toml; do
    owner="$(stat -c '%U' "/var/lib/valgbord/$f" 2>/dev/null || echo missing)"
    [ "$owner" = valgbord ] && ok "/var/lib/valgbord/$f is valgbord's" || fail "/var/lib/valgbord/$f: owner $owner"
done
expect /var/lib/valgbord/device.key 600 valgbord:valgbord
install -d -o valgbord -g valgbord "$WORK/out"
runuser -u valgbord -- $V list print --db /var/lib/valgbord/valgbord.db --out "$WORK/out/liste.pdf" --blank >/dev/null
surname="$(sed -n 2p "$WORK/valgliste.csv" | cut -d';' -f5)"
pdftotext "$WORK/out/liste.pdf" "$WORK/out/liste.txt"
grep -qF "$surname" "$WORK/out/liste.txt" && ok "paper list printed from the installed data ($surname)" ||
    fail "the paper list does not have the first voter ($surname)"
before="$(state_sums)"

echo "== upgrade to $(basename "$NEW")"
said="$(dpkg -i "$NEW" 2>&1)" || { echo "$said"; fail "dpkg -i $NEW (upgrade)"; exit 1; }
echo "$said"
new_version="$(dpkg-deb -f "$NEW" Version)"
[ "$(dpkg-query -W -f='${Version}' valgbord)" = "$new_version" ] && ok "upgraded to $new_version" ||
    fail "installed version is not $new_version after the upgrade"
grep -q "untouched" <<<"$said" || fail "postinst said nothing about the upgrade"
[ "$(state_sums)" = "$before" ] && ok "upgrade: /var/lib/valgbord unchanged ($(wc -l <<<"$before") files)" ||
    fail "the upgrade changed /var/lib/valgbord"
expect /var/lib/valgbord 700 valgbord:valgbord
same "$WORK/office.pub" /etc/valgbord/office.pub
runuser -u valgbord -- $V voters lookup --db /var/lib/valgbord/valgbord.db "$(sed -n 2p "$WORK/valgliste.csv" | cut -d';' -f13)" >/dev/null &&
    ok "the new binary reads the old database" || fail "the new binary cannot read the database"
[ "$(state_sums)" = "$before" ] || fail "reading the database changed it"

echo "== dpkg --remove"
said="$(dpkg --remove valgbord 2>&1)" || { echo "$said"; fail "dpkg --remove"; exit 1; }
echo "$said"
[ ! -e /usr/bin/valgbord ] && ok "binary removed" || fail "/usr/bin/valgbord is still there after remove"
[ "$(state_sums)" = "$before" ] && ok "remove: /var/lib/valgbord unchanged" || fail "remove changed /var/lib/valgbord"

echo "== dpkg --purge"
said="$(dpkg --purge valgbord 2>&1)" || { echo "$said"; fail "dpkg --purge"; exit 1; }
echo "$said"
[ "$(state_sums)" = "$before" ] && ok "purge: /var/lib/valgbord unchanged" || fail "purge changed /var/lib/valgbord"
grep -q "valgbord destroy" <<<"$said" && ok "purge names valgbord destroy" || fail "purge said nothing of valgbord destroy"
[ -f /etc/valgbord/office.pub ] && ok "purge keeps /etc/valgbord" || fail "purge removed /etc/valgbord"
dpkg-query -W -f='${Status}' valgbord 2>/dev/null | grep -q installed && fail "still installed after purge"

if [ "$fails" -gt 0 ]; then
    echo "deb.sh: $fails check(s) failed" >&2
    exit 1
fi
echo "deb.sh: the package installs, upgrades, removes and purges; the data stayed"
