"""The QEMU compute driver (driver.py) and its parts: the instance directory layout, the
command line, disks, the console log and the QEMU process."""

from pocketstack.drivers.compute.qemu.driver import QemuDriver

__all__ = ["QemuDriver"]
