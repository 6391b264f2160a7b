#    Licensed under the Apache License, Version 2.0 (the "License"); you may
#    not use this file except in compliance with the License. You may obtain
#    a copy of the License at
#
#         http://www.apache.org/licenses/LICENSE-2.0
#
#    Unless required by applicable law or agreed to in writing, software
#    distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
#    WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied. See the
#    License for the specific language governing permissions and limitations
#    under the License.

"""The ``[sev_scheduler]`` options."""

from oslo_config import cfg

import nova.conf

sev_group = cfg.OptGroup(
    'sev_scheduler',
    title='SEV scheduler options',
    help=("Options for the sev-scheduler plugin, which places AMD SEV, "
          "SEV-ES and SEV-SNP guests on hosts that can run them and refuses "
          "requests that can never work with memory encryption."))

ALL_CHECKS = ['pci_passthrough', 'mdev_vgpu', 'boot_disk_bus', 'ide_devices']

sev_opts = [
    cfg.ListOpt(
        'checks',
        default=ALL_CHECKS,
        help="""
Request checks that SEVFilter runs for every request asking for AMD memory
encryption. A failing check refuses the request on every host, with the
reason in the server's fault.

Checks are plugins in the ``sev_scheduler.checks`` entry-point namespace.

Possible values:

* ``pci_passthrough``: refuse PCI devices, from a flavor's
  ``pci_passthrough:alias`` or from SR-IOV ports.
* ``mdev_vgpu``: refuse a ``VGPU`` resource in any request group of the
  flavor.
* ``boot_disk_bus``: refuse a boot disk that is not ``virtio``, ``scsi``
  with ``hw_scsi_model=virtio-scsi``, or ``sata``.
* ``ide_devices``: refuse anything on the IDE bus: volumes in the block
  device mapping, ``hw_disk_bus=ide``, ``hw_cdrom_bus=ide``.
* The name of any other check installed in the namespace.
* An empty list runs no check.

Related options:

* ``[filter_scheduler] enabled_filters`` must include ``SEVFilter``.
"""),
    cfg.BoolOpt(
        'allow_memory_overcommit',
        default=False,
        help="""
Let SEV and SEV-ES guests land on hosts whose ``ram_allocation_ratio`` is
above 1.0.

SEV and SEV-ES guests lock their memory, so it cannot be overcommitted: by
default SEVFilter drops such hosts for these models. SEV-SNP guests do not
lock their memory and are never affected.

Possible values:

* False (default): drop hosts with a RAM allocation ratio above 1.0 for
  ``amd-sev`` and ``amd-sev-es`` guests.
* True: ignore the RAM allocation ratio.

Related options:

* ``[DEFAULT] ram_allocation_ratio`` and
  ``[DEFAULT] initial_ram_allocation_ratio`` on the compute hosts.
"""),
]


def register_opts(conf):
    conf.register_group(sev_group)
    conf.register_opts(sev_opts, group=sev_group)


def list_opts():
    return [(sev_group, sev_opts)]


# Nova's scheduler reads its options from nova.conf.CONF: ours live there too.
CONF = nova.conf.CONF
register_opts(CONF)
