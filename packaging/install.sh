#!/usr/bin/env bash
# Installs valgbord on a Raspberry Pi (a polling table) or on the election office's
# server (the central tally): binary, configuration example, systemd units, udev rules,
# users and groups. Safe to run again: what is already in place is left alone, and an
# edited /etc/valgbord/table.toml is never overwritten.
#
#   sudo packaging/install.sh --binary ./valgbord            # a polling table
#   sudo packaging/install.sh --binary ./valgbord --central  # the central tally
#   packaging/install.sh --dry-run                           # show what it would do
#
# Run it from a copy of the source tree (it takes systemd/, hardware/, config/ and
# packaging/ from there). See hardware/README.md for the whole set-up of a table and
# hardware/data-protection.md for the encrypted data partition, which comes first.
set -euo pipefail

usage() {
    cat <<'EOF'
usage: install.sh [--binary FILE] [--central] [--no-kiosk] [--keep-swap] [--start] [--dry-run]

  --binary FILE  the valgbord binary to install (default: the aarch64 release build
                 target/aarch64-unknown-linux-gnu/release/valgbord, else ./valgbord)
  --central      install the central tally (valgbord-central.service) instead of a table
  --no-kiosk     a table without the local kiosk screen (no cage, no Chromium)
  --keep-swap    leave Raspberry Pi OS's swap file on (see hardware/data-protection.md)
  --start        start the services now (otherwise they start at the next boot)
  --dry-run      print what would be done and change nothing
  -h, --help     this text
EOF
}

SRC="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BINARY=""
ROLE=table
KIOSK=yes
KEEP_SWAP=no
START=no
DRY_RUN=no

while [ $# -gt 0 ]; do
    case "$1" in
        --binary) BINARY="${2:?--binary needs a file}"; shift 2 ;;
        --binary=*) BINARY="${1#--binary=}"; shift ;;
        --central) ROLE=central; KIOSK=no; shift ;;
        --no-kiosk) KIOSK=no; shift ;;
        --keep-swap) KEEP_SWAP=yes; shift ;;
        --start) START=yes; shift ;;
        --dry-run|-n) DRY_RUN=yes; shift ;;
        -h|--help) usage; exit 0 ;;
        *) echo "install.sh: unknown argument: $1" >&2; usage >&2; exit 2 ;;
    esac
done

CHANGED=0
RELOAD_UDEV=no
say() { printf '== %s\n' "$*"; }
die() { printf 'install.sh: %s\n' "$*" >&2; exit 1; }

# Runs a command that changes the system; in a dry run only prints it.
run() {
    CHANGED=$((CHANGED + 1))
    local shown
    shown="$(printf '%q ' "$@")"
    if [ "$DRY_RUN" = yes ]; then
        printf '   would run: %s\n' "${shown% }"
    else
        printf '   + %s\n' "${shown% }"
        "$@"
    fi
}

# Installs file SRC as DEST with MODE and OWNER:GROUP unless DEST already has exactly
# that content, mode and owner.
put_file() {
    local src="$1" dest="$2" mode="$3" owner="$4"
    [ -f "$src" ] || die "missing $src (run install.sh from the valgbord source tree)"
    if [ -f "$dest" ] && cmp -s "$src" "$dest" &&
        [ "$(stat -c '%a %U:%G' "$dest")" = "${mode#0} $owner" ]; then
        printf '   unchanged: %s\n' "$dest"
        return 0
    fi
    run install -D -m "$mode" -o "${owner%%:*}" -g "${owner##*:}" "$src" "$dest"
}

# Like put_file, with the content on standard input.
put_text() {
    local dest="$1" mode="$2" owner="$3" dir
    dir="$(mktemp -d)"
    cat >"$dir/${dest##*/}"
    put_file "$dir/${dest##*/}" "$dest" "$mode" "$owner"
    rm -rf "$dir"
}

have_group() { getent group "$1" >/dev/null; }
have_user() { getent passwd "$1" >/dev/null; }
have_package() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }

# --- checks -------------------------------------------------------------------------
if [ "$DRY_RUN" = no ] && [ "$(id -u)" -ne 0 ]; then
    die "run as root (sudo), or with --dry-run to see what would be done"
fi
command -v systemctl >/dev/null || die "systemd is required"

if [ -z "$BINARY" ]; then
    for candidate in "$SRC/target/aarch64-unknown-linux-gnu/release/valgbord" ./valgbord; do
        if [ -f "$candidate" ]; then BINARY="$candidate"; break; fi
    done
fi
[ -n "$BINARY" ] && [ -f "$BINARY" ] ||
    die "no valgbord binary: build it (cargo build --release --target aarch64-unknown-linux-gnu) or pass --binary FILE"
if ! "$BINARY" --version >/dev/null 2>&1; then
    if [ "$DRY_RUN" = yes ]; then
        echo "   note: $BINARY does not run on this machine ($(uname -m)); fine for a dry run"
    else
        die "$BINARY does not run here ($(uname -m)): a Raspberry Pi needs the aarch64 build, on 64-bit Raspberry Pi OS Bookworm or newer"
    fi
fi

say "valgbord $ROLE from $SRC, binary $BINARY$([ "$DRY_RUN" = yes ] && echo ' (dry run: nothing is changed)')"

# --- packages -----------------------------------------------------------------------
if [ "$KIOSK" = yes ]; then
    say "packages for the kiosk screen"
    wanted=(cage)
    if have_package chromium-browser || have_package chromium; then
        :
    elif apt-cache show chromium-browser >/dev/null 2>&1; then
        wanted+=(chromium-browser)   # Raspberry Pi OS
    else
        wanted+=(chromium)           # Debian
    fi
    missing=()
    for p in "${wanted[@]}"; do have_package "$p" || missing+=("$p"); done
    if [ ${#missing[@]} -gt 0 ]; then
        run apt-get update
        run env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"
    else
        echo "   installed: ${wanted[*]}"
    fi
fi

# --- groups and users ---------------------------------------------------------------
say "groups and users"
if [ "$ROLE" = table ]; then
    # input, dialout and lp come with Debian; gpio with Raspberry Pi OS.
    for g in input dialout lp gpio; do
        if ! have_group "$g"; then
            run groupadd --system "$g"
            RELOAD_UDEV=yes   # udev resolves group names when it loads its rules
        fi
    done
fi
if have_user valgbord; then
    echo "   exists: user valgbord"
else
    run useradd --system --user-group --home-dir /var/lib/valgbord --no-create-home \
        --shell /usr/sbin/nologin --comment "valgbord daemon" valgbord
fi
if [ "$KIOSK" = yes ]; then
    if have_user valgbord-kiosk; then
        echo "   exists: user valgbord-kiosk"
    else
        run useradd --system --user-group --home-dir /var/lib/valgbord-kiosk --no-create-home \
            --shell /usr/sbin/nologin --comment "valgbord kiosk screen" valgbord-kiosk
    fi
    # The GPU; the session from logind gives the display and touch screen. Never the
    # input group: the scanner is the table daemon's alone.
    for g in video render; do
        if have_group "$g" && ! id -nG valgbord-kiosk 2>/dev/null | tr ' ' '\n' | grep -qx "$g"; then
            run usermod --append --groups "$g" valgbord-kiosk
        fi
    done
fi

# --- files --------------------------------------------------------------------------
say "program, configuration, units"
put_file "$BINARY" /usr/bin/valgbord 0755 root:root
if [ "$KIOSK" = yes ]; then
    put_file "$SRC/packaging/kiosk-browser" /usr/lib/valgbord/kiosk-browser 0755 root:root
fi
for doc in README.md ARCHITECTURE.md hardware/README.md hardware/wiring.md \
    hardware/scanner-setup.md hardware/data-protection.md; do
    if [ -f "$SRC/$doc" ]; then
        put_file "$SRC/$doc" "/usr/share/doc/valgbord/$doc" 0644 root:root
    fi
done

# /etc/valgbord: root's, readable by the daemon's group. An edited configuration is
# kept; the example next to it is always the current one.
if [ ! -d /etc/valgbord ]; then
    run install -d -m 0755 -o root -g root /etc/valgbord
fi
if [ "$DRY_RUN" = no ] || have_user valgbord; then
    conf_owner=root:valgbord
else
    conf_owner=root:root   # dry run before the user exists; the real run uses valgbord
fi
conf="$ROLE.toml"
if [ -f "$SRC/config/$conf" ]; then
    put_file "$SRC/config/$conf" "/etc/valgbord/$conf.example" 0640 "$conf_owner"
    if [ -e "/etc/valgbord/$conf" ]; then
        echo "   kept: /etc/valgbord/$conf (compare with $conf.example after an update)"
    else
        put_file "$SRC/config/$conf" "/etc/valgbord/$conf" 0640 "$conf_owner"
    fi
else
    echo "   note: no config/$conf in the source; write /etc/valgbord/$conf by hand"
fi

units=("valgbord-$ROLE.service")
[ "$KIOSK" = yes ] && units+=(valgbord-kiosk.service)
before=$CHANGED
for u in "${units[@]}"; do
    put_file "$SRC/systemd/$u" "/etc/systemd/system/$u" 0644 root:root
done
UNITS_CHANGED=$((CHANGED - before))

if [ "$ROLE" = table ]; then
    say "udev rules (scanner, printer, GPIO)"
    before=$CHANGED
    put_file "$SRC/hardware/99-valgbord.rules" /etc/udev/rules.d/99-valgbord.rules 0644 root:root
    if [ $CHANGED -ne $before ] || [ "$RELOAD_UDEV" = yes ]; then
        run udevadm control --reload
        run udevadm trigger --action=add
    fi
fi

# --- data protection ----------------------------------------------------------------
say "data protection (hardware/data-protection.md)"
# The journal holds voter ids with check-in times: RAM only, never on the unencrypted
# root file system.
before=$CHANGED
put_text /etc/systemd/journald.conf.d/valgbord.conf 0644 root:root <<'EOF'
# Installed by valgbord's packaging/install.sh: the log names voters and times, so it is
# kept in RAM only (hardware/data-protection.md). The signed event log is the record.
[Journal]
Storage=volatile
RuntimeMaxUse=64M
EOF
if [ $CHANGED -ne $before ] || [ -d /var/log/journal ]; then
    # Storage=volatile leaves an existing /var/log/journal on disk; remove it, so the
    # journal is in RAM only and no earlier log (a rehearsal's) stays behind.
    if [ -d /var/log/journal ]; then
        run rm -rf /var/log/journal
    fi
    run systemctl restart systemd-journald
fi
if [ "$KEEP_SWAP" = no ] && command -v dphys-swapfile >/dev/null; then
    if systemctl is-enabled --quiet dphys-swapfile 2>/dev/null || [ -s /var/swap ]; then
        run dphys-swapfile swapoff
        run dphys-swapfile uninstall
        run systemctl disable dphys-swapfile
    else
        echo "   swap file already off"
    fi
fi
if ! findmnt --target /var/lib/valgbord --noheadings --output SOURCE 2>/dev/null |
    grep -q '^/dev/mapper/'; then
    echo "   WARNING: /var/lib/valgbord is not on an encrypted (dm-crypt) file system;"
    echo "            set it up before loading a voter list: hardware/data-protection.md"
fi

# --- services -----------------------------------------------------------------------
say "services"
if [ "$UNITS_CHANGED" -gt 0 ]; then
    run systemctl daemon-reload
fi
for u in "${units[@]}"; do
    if systemctl is-enabled --quiet "$u" 2>/dev/null; then
        echo "   enabled: $u"
    else
        run systemctl enable "$u"
    fi
done
if [ "$START" = yes ]; then
    run systemctl restart "${units[@]}"
fi

if [ "$DRY_RUN" = yes ]; then
    say "dry run: $CHANGED change(s) would be made"
elif [ "$CHANGED" -eq 0 ]; then
    say "done: everything was already in place"
else
    say "done: $CHANGED change(s)"
fi
if [ "$ROLE" = table ]; then
    cat <<EOF
Next:
  1. edit /etc/valgbord/table.toml (election, place, table_no, [scanner] path =
     "/dev/valgbord-scanner", [pins]); check: ls -l /dev/valgbord-scanner /dev/valgbord-printer
  2. make the device key and send its public key to the election office to enrol:
     sudo -u valgbord valgbord key init --key /var/lib/valgbord/device.key
  3. load the election package into /var/lib/valgbord (README.md)
  4. sudo systemctl start ${units[*]}   (or reboot); journalctl -u valgbord-table -f
EOF
else
    cat <<EOF
Next: edit /etc/valgbord/central.toml, then: sudo systemctl start valgbord-central
EOF
fi
