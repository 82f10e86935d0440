"""Files embedded in the test guest: its /init (busybox sh, PID 1) and helpers.

Every line the guest prints for machines starts with ``POCKETSTACK-GUEST: `` on the
serial console (ttyS0), so a console log can be searched without knowing kernel output:

    POCKETSTACK-GUEST: booted
    POCKETSTACK-GUEST: boot-disk dev=/dev/vda count=<n>         (n-th boot of this disk)
    POCKETSTACK-GUEST: ip <if> <addr/len> router=<gw>            (only with a NIC and DHCP)
    POCKETSTACK-GUEST: config-drive dev=<dev>  |  config-drive none
    POCKETSTACK-GUEST: metadata source=config-drive|http  |  metadata none   (where what follows came from)
    POCKETSTACK-GUEST: uuid=<uuid>
    POCKETSTACK-GUEST: hostname=<short name>
    POCKETSTACK-GUEST: public_keys=<count>
    POCKETSTACK-GUEST: user_data start  ...script output...  user_data done rc=<n>
    POCKETSTACK-GUEST: user_data none  |  user_data skipped (not a #! script)
    POCKETSTACK-GUEST: ready
    POCKETSTACK-GUEST: nic-add <if> mac=<mac>  |  nic-del <if>  (a NIC hot-plugged or unplugged after ready)
    POCKETSTACK-GUEST: poweroff  |  reboot                       (graceful stop)
"""

from __future__ import annotations

MARKER = "POCKETSTACK-GUEST:"
BOOT_DISK_LABEL = "PS-GUEST"  # FAT label of the boot disk (at most 11 characters)
CONFIG_DRIVE_LABEL = "config-2"
METADATA_ADDRESS = "169.254.169.254"
LEASE_WAIT_S = 120  # seconds a guest without config drive waits for DHCP before giving up on metadata
METADATA_TRIES = 45  # ~2 s apart: the proxy may learn about a new server a few passes late

# Loaded by the guest at boot; the builder copies them and their dependencies into the initramfs.
GUEST_MODULES = (
    "virtio_pci",
    "virtio_blk",
    "virtio_scsi",
    "virtio_net",
    "virtio_console",
    "virtio_rng",
    "virtio_balloon",
    "sd_mod",
    "sr_mod",
    "ata_piix",  # IDE CD-ROM of -machine pc (the usual config drive bus)
    "isofs",
    "vfat",
    "nls_cp437",
    "nls_ascii",
    "nls_utf8",
    "button",  # ACPI power button: graceful stop
    "evdev",
)

INIT = r"""#!/bin/busybox sh
# pocketstack test guest: PID 1, runs from the initramfs (nothing is pivoted to).
/bin/busybox mkdir -p /proc /sys /dev /run /tmp /mnt /usr/bin /usr/sbin
/bin/busybox --install -s
export PATH=/sbin:/bin:/usr/sbin:/usr/bin HOME=/root
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev   # the cloud kernel does not mount it by itself
mkdir -p /dev/pts && mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /run
mount -t tmpfs tmpfs /tmp
exec </dev/console >/dev/console 2>&1

say() { echo "__MARKER__ $*"; }
say booted

# `poweroff`/`reboot` (from the console shell or acpid) signal PID 1: stop cleanly.
stop_guest() {
  echo  # the console shell's prompt may be on the current line
  say "$1"
  sync
  umount -a -r 2>/dev/null
  "$1" -f
}
trap 'stop_guest poweroff' USR2
trap 'stop_guest reboot' TERM INT

modprobe -q -a __MODULES__

# Block devices appear asynchronously after the drivers load: wait for the label.
find_label() {
  tries=$2
  while [ "$tries" -gt 0 ]; do
    dev=$(findfs "LABEL=$1" 2>/dev/null) && { echo "$dev"; return 0; }
    usleep 200000
    tries=$((tries - 1))
  done
  return 1
}

# A counter on the (writable) boot disk shows reboots and that a snapshot carries state.
count_boots() {
  dev=$(find_label __BOOT_LABEL__ 15) || { say "boot-disk none"; return; }
  mkdir -p /mnt/boot
  if mount -t vfat -o rw "$dev" /mnt/boot 2>/dev/null; then
    count=$(($(cat /mnt/boot/bootcount 2>/dev/null || echo 0) + 1))
    echo "$count" >/mnt/boot/bootcount
    sync
    umount /mnt/boot
    say "boot-disk dev=$dev count=$count"
  else
    say "boot-disk dev=$dev read-only"
  fi
}

start_network() {
  ip link set lo up
  [ -e /sys/class/net/eth0 ] || return 0
  udhcpc -i eth0 -s /etc/udhcpc.script -t 3 -T 2 -A 2 -b -O staticroutes -O mtu >/dev/null 2>&1
}

json_string() {  # json_string KEY FILE: value of the first "KEY": "string" member
  tr -d '\n' <"$2" | tr ',{' '\n\n' | sed -n "s/^ *\"$1\" *: *\"\([^\"]*\)\".*/\1/p" | head -n 1
}

install_public_keys() {
  mkdir -p /root/.ssh && chmod 700 /root/.ssh
  tr -d '\n' <"$1" | sed -n 's/.*"public_keys" *: *{\([^}]*\)}.*/\1/p' \
    | grep -o '"[^"]*" *: *"[^"]*"' | sed 's/^"[^"]*" *: *"//; s/"$//; s/\\n$//' >/root/.ssh/authorized_keys
  chmod 600 /root/.ssh/authorized_keys
  say "public_keys=$(grep -c . /root/.ssh/authorized_keys)"
}

# Metadata comes from the config drive when there is one, else from the metadata service
# at 169.254.169.254 (over the NIC, once DHCP gave it an address and routes), as
# cloud-init looks for it. Either way the files land in one directory ($md_dir).
md_dir=/mnt/config/openstack/latest

read_config_drive() {
  dev=$(find_label __CONFIG_LABEL__ 25) || { say "config-drive none"; return 1; }
  mkdir -p /mnt/config
  mount -o ro "$dev" /mnt/config || { say "config-drive dev=$dev unreadable"; return 1; }
  say "config-drive dev=$dev"
  say "metadata source=config-drive"
}

# fetch URL FILE: 0 when fetched, 2 when the service said 404, 1 when it did not answer.
# (`timeout` around wget: busybox 1.35's `wget -T` segfaults.)
fetch() {
  if timeout 10 wget -q -O "$2.part" "$1" 2>/run/wget.err; then
    mv "$2.part" "$2"
    return 0
  fi
  rm -f "$2.part"
  grep -q " 404" /run/wget.err && return 2
  return 1
}

read_metadata_service() {
  [ -e /sys/class/net/eth0 ] || { say "metadata none"; return 1; }
  # the lease may come late (the dataplane plugs the NIC while the guest boots)
  tries=__LEASE_WAIT__
  while [ ! -e /run/dhcp.bound ] && [ "$tries" -gt 0 ]; do sleep 1; tries=$((tries - 1)); done
  [ -e /run/dhcp.bound ] || { say "metadata none (no DHCP lease)"; return 1; }
  md_dir=/run/metadata/openstack/latest
  mkdir -p "$md_dir"
  url=http://__METADATA_ADDRESS__/openstack/latest
  # until the proxy knows this server it answers 404 as well: keep asking for a while
  tries=__METADATA_TRIES__
  until fetch "$url/meta_data.json" "$md_dir/meta_data.json"; do
    tries=$((tries - 1))
    [ "$tries" -gt 0 ] || { say "metadata none (no answer from __METADATA_ADDRESS__)"; return 1; }
    sleep 2
  done
  say "metadata source=http"
  # the service knows this server now: a 404 means there is no user data
  tries=5
  while :; do
    fetch "$url/user_data" "$md_dir/user_data"
    rc=$?
    [ "$rc" -eq 1 ] && [ "$tries" -gt 0 ] || break
    tries=$((tries - 1))
    sleep 2
  done
  return 0
}

apply_meta_data() {
  md=$md_dir/meta_data.json
  [ -f "$md" ] || return 0
  uuid=$(json_string uuid "$md")
  [ -n "$uuid" ] && say "uuid=$uuid"
  name=$(json_string hostname "$md")
  if [ -n "$name" ]; then
    name=${name%%.*}  # like cloud-init: the short name (nova adds .novalocal)
    hostname "$name"
    echo "$name" >/etc/hostname
  fi
  say "hostname=$(hostname)"
  install_public_keys "$md"
}

run_user_data() {
  ud=$md_dir/user_data
  [ -f "$ud" ] || { say "user_data none"; return; }
  if [ "$(head -c 2 "$ud")" != "#!" ]; then
    say "user_data skipped (not a #! script)"
    return
  fi
  cp "$ud" /run/user_data
  say "user_data start"
  (cd /root && sh /run/user_data)
  say "user_data done rc=$?"
}

hostname pocketstack-guest
count_boots
start_network
if read_config_drive || read_metadata_service; then
  apply_meta_data
  run_user_data
fi
# NICs that come and go after boot (hot-plug): compare /sys/class/net once a second. A new
# NIC asks for a DHCP lease too (its `ip` marker follows; eth0 keeps the default route).
watch_nics() {
  known=" $(ls /sys/class/net | tr '\n' ' ')"
  while sleep 1; do
    now=" $(ls /sys/class/net | tr '\n' ' ')"
    for nic in $now; do
      case "$known" in *" $nic "*) ;; *)
        say "nic-add $nic mac=$(cat "/sys/class/net/$nic/address" 2>/dev/null)"
        udhcpc -i "$nic" -s /etc/udhcpc.script -p "/run/udhcpc.$nic.pid" -t 3 -T 2 -A 2 -b -O staticroutes -O mtu >/dev/null 2>&1
        ;;
      esac
    done
    for nic in $known; do
      case "$now" in *" $nic "*) ;; *)
        [ -f "/run/udhcpc.$nic.pid" ] && kill "$(cat "/run/udhcpc.$nic.pid")" 2>/dev/null
        say "nic-del $nic"
        ;;
      esac
    done
    known=$now
  done
}

acpid -c /etc/acpi -a /etc/acpid.conf -l /run/acpid.log
say ready
watch_nics &

# A root shell on the console, started again whenever it exits.
(while :; do setsid cttyhack sh -l; sleep 1; done) &
while :; do
  sleep 86400 &
  wait $!   # returns early on a signal, so the traps above run at once
done
"""

# busybox udhcpc calls this with the lease in the environment.
UDHCPC_SCRIPT = r"""#!/bin/sh
case "$1" in
  deconfig)
    ip addr flush dev "$interface"
    ip link set "$interface" up
    ;;
  bound|renew)
    ip addr flush dev "$interface"
    ip addr add "$ip/${mask:-24}" dev "$interface"
    [ -n "$mtu" ] && ip link set "$interface" mtu "$mtu"
    set -- $staticroutes   # option 121: "dest/len gateway" pairs
    while [ $# -ge 2 ]; do ip route add "$1" via "$2" dev "$interface" 2>/dev/null; shift 2; done
    for gw in $router; do ip route add default via "$gw" dev "$interface" 2>/dev/null; break; done
    : >/etc/resolv.conf
    for ns in $dns; do echo "nameserver $ns" >>/etc/resolv.conf; done
    echo "__MARKER__ ip $interface $ip/${mask:-24} router=$router" >/dev/console
    : >/run/dhcp.bound  # the metadata service is reachable from now on
    ;;
esac
exit 0
"""

# busybox acpid: the action is a file name relative to -c DIR, run without arguments.
ACPID_CONF = "PWRF poweroff.sh\n"
ACPI_POWEROFF = "#!/bin/sh\npoweroff\n"  # busybox poweroff signals PID 1 (USR2)

PROFILE = r"""export PATH=/sbin:/bin:/usr/sbin:/usr/bin HOME=/root
PS1='root@\h:\w# '
cd /root
"""


def render(template: str) -> str:
    return (
        template.replace("__MARKER__", MARKER)
        .replace("__MODULES__", " ".join(GUEST_MODULES))
        .replace("__BOOT_LABEL__", BOOT_DISK_LABEL)
        .replace("__CONFIG_LABEL__", CONFIG_DRIVE_LABEL)
        .replace("__METADATA_ADDRESS__", METADATA_ADDRESS)
        .replace("__LEASE_WAIT__", str(LEASE_WAIT_S))
        .replace("__METADATA_TRIES__", str(METADATA_TRIES))
    )


def guest_files() -> dict[str, tuple[str, int]]:
    """Path in the initramfs -> (text, mode)."""
    return {
        "init": (render(INIT), 0o755),
        "etc/udhcpc.script": (render(UDHCPC_SCRIPT), 0o755),
        "etc/acpid.conf": (ACPID_CONF, 0o644),
        "etc/acpi/poweroff.sh": (ACPI_POWEROFF, 0o755),
        "etc/profile": (PROFILE, 0o644),
        "etc/hostname": ("pocketstack-guest\n", 0o644),
        "etc/passwd": ("root:x:0:0:root:/root:/bin/sh\n", 0o644),
        "etc/group": ("root:x:0:\n", 0o644),
    }
