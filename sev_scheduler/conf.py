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

import math
import re

import os_traits
from oslo_config import cfg
from oslo_config import types

import nova.conf
import nova.conf.pci
import nova.conf.scheduler
from nova.pci import request as pci_request

sev_group = cfg.OptGroup(
    'sev_scheduler',
    title='SEV scheduler options',
    help=("Options for the sev-scheduler plugin, which places AMD SEV, "
          "SEV-ES and SEV-SNP guests on hosts that can run them and refuses "
          "requests that can never work with memory encryption."))

#: A custom trait as Placement accepts it, up to its 255 characters.
_CUSTOM_TRAIT = re.compile(r'CUSTOM_[A-Z0-9_]{1,248}')


class TraitName(types.String):
    """A Placement trait: a standard one os-traits names, or a custom one.

    A custom name is ``CUSTOM_`` and upper-case letters, digits and ``_``,
    as Placement accepts it and Nova writes a ``[pci] device_spec`` tag's
    trait; anything else would never match a device.
    """

    def __init__(self):
        super().__init__(type_name='trait name')

    def __call__(self, value):
        value = super().__call__(value)
        if (_CUSTOM_TRAIT.fullmatch(value) or
                value in os_traits.get_traits()):
            return value
        raise ValueError(
            "%r is not a Placement trait: use a standard os-traits name or "
            "CUSTOM_ and upper-case letters, digits and '_', as Placement "
            "holds a [pci] device_spec traits tag" % value)


ALL_CHECKS = ['pci_passthrough', 'mdev_vgpu', 'accelerators',
              'boot_disk_bus', 'ide_devices']

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
* ``mdev_vgpu``: refuse a device resource in any request group of the
  flavor: ``VGPU`` and the other device classes (``PGPU``, ``FPGA``,
  ``PCI_DEVICE``, ``SRIOV_NET_VF``...), and custom classes, which may be
  mdevs (``[mdev_$TYPE] mdev_class``), unless ``safe_resource_classes``
  lists them.
* ``accelerators``: refuse Cyborg accelerators, from a flavor's
  ``accel:device_profile`` or from ``accelerator-direct`` and
  ``accelerator-direct-physical`` ports.
* ``boot_disk_bus``: refuse a boot device (root disk, boot volume, the
  cdrom an ISO image boots from) that the libvirt driver would put on a
  bus other than ``virtio``, ``scsi`` with ``hw_scsi_model=virtio-scsi``,
  or ``sata``.
* ``ide_devices``: refuse any other disk, cdrom or floppy on such a bus
  (IDE, USB, floppy controller...): volumes, the image's disk and cdrom
  buses, floppies.
* The name of any other check installed in the namespace.
* An empty list runs no check.

Related options:

* ``[filter_scheduler] enabled_filters`` must include ``SEVFilter``.
* ``safe_resource_classes`` for the ``mdev_vgpu`` check.
* ``snp_pci_aliases`` for the ``pci_passthrough`` check.
"""),
    cfg.ListOpt(
        'safe_resource_classes',
        default=[],
        help="""
Custom resource classes that are not devices, which encrypted guests may
request in a flavor (``resources:CUSTOM_...``).

The scheduler cannot tell whether a custom resource class is a device: a
compute's ``[mdev_$TYPE] mdev_class`` turns mediated devices, which cannot
work with memory encryption, into any custom class. The ``mdev_vgpu`` check
therefore refuses every custom class this option does not list. Standard
classes that are no device (``VCPU``, ``MEMORY_MB``, ``DISK_GB``, ``PCPU``,
``MEM_ENCRYPTION_CONTEXT``, network bandwidth...) are always allowed;
device classes (``VGPU``, ``PGPU``, ``FPGA``, ``PCI_DEVICE``,
``SRIOV_NET_VF``...) are always refused, listed here or not.

Possible values:

* An empty list (default): refuse every custom resource class.
* Names of custom resource classes, e.g. ``CUSTOM_LICENSE_WINDOWS``.

Related options:

* ``checks`` must include ``mdev_vgpu``.
* ``[mdev_$TYPE] mdev_class`` on the compute hosts: never list those.
"""),
    cfg.ListOpt(
        'snp_pci_aliases',
        default=[],
        help="""
PCI aliases (names of Nova's ``[pci] alias``) that ``amd-sev-snp`` guests
may request in a flavor's ``pci_passthrough:alias``: confidential devices,
such as GPUs in confidential-computing (CC) mode.

A device that is not in CC mode exchanges the guest's data in the clear, so
the ``pci_passthrough`` check refuses every PCI device with memory
encryption unless all of a request's devices come from aliases listed here,
and the request uses ``amd-sev-snp``. Each listed alias must, in this
scheduler's ``[pci] alias``, require a trait of
``confidential_device_traits``, with ``[filter_scheduler]
pci_in_placement`` on: Nova's own Placement query then offers only devices
in CC mode. A request for a listed alias that is set up otherwise is
refused, naming what is missing; ``sev-scheduler-status upgrade check``
reports it. SR-IOV ports, mdevs and Cyborg accelerators stay refused.

Does nothing before OpenStack 2026.2, whose Nova does not place SEV-SNP
guests.

Possible values:

* An empty list (default): refuse every PCI device with memory encryption.
* Names of ``[pci] alias`` entries, e.g. ``cc-gpu``.

Related options:

* ``confidential_device_traits``: the traits each alias must require.
* ``[pci] alias``: each alias's ``traits`` must include one of them.
* ``[pci] device_spec`` on the compute hosts: the ``traits`` tag of the
  devices in CC mode.
* ``[filter_scheduler] pci_in_placement`` must be True.
* ``checks`` must include ``pci_passthrough``.
"""),
    cfg.ListOpt(
        'confidential_device_traits',
        item_type=TraitName(),
        default=[],
        help="""
Placement traits that mark a PCI device in confidential-computing (CC)
mode, which ``amd-sev-snp`` guests may use through ``snp_pci_aliases``.

The operator gives them to the devices in CC mode, and only those, through
the ``traits`` tag of Nova's ``[pci] device_spec`` on the compute hosts
(with ``[filter_scheduler] pci_in_placement``); Nova reports them in
Placement. The scheduler cannot see a device's mode itself: it relies on
the trait.

Possible values:

* An empty list (default): no device is confidential; every alias of
  ``snp_pci_aliases`` is refused.
* Trait names: standard os-traits names, or custom ones as Placement holds
  them, e.g. ``CUSTOM_NVIDIA_CC_ON`` (a ``device_spec`` tag
  ``"traits": "nvidia_cc_on"`` becomes this trait).

Related options:

* ``snp_pci_aliases``.
* ``[pci] alias``: each alias of ``snp_pci_aliases`` must require one of
  these in its ``traits``.
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
    cfg.FloatOpt(
        'weight_multiplier',
        default=1.0,
        help="""
How SEVWeigher weighs hosts for a request asking for memory encryption, by
the free slots of the requested model.

A host's own aggregates can override it with the metadata key
``sev_weight_multiplier`` (the lowest value wins), as Nova's own weighers do.

Possible values:

* A positive number: spread encrypted guests, preferring hosts with more
  free slots (default 1.0).
* A negative number: pack them, preferring hosts with fewer free slots.
* 0: ignore free slots.

Related options:

* ``[filter_scheduler] weight_classes`` must include
  ``sev_scheduler.weighers.SEVWeigher``.
* ``plain_on_sev_weight_multiplier`` for requests without encryption.
"""),
    cfg.FloatOpt(
        'plain_on_sev_weight_multiplier',
        default=-10.0,
        help="""
How SEVWeigher weighs SEV-capable hosts for a request without memory
encryption.

Encryption slots are scarce and SEV hosts cannot overcommit memory: by
default ordinary guests go to SEV-capable hosts only when nothing else is
left, keeping their slots and memory for the guests that need them. Each
of Nova's own weighers adds at most its multiplier (1.0 by default) to a
host's weight: the default outweighs them all together.

Possible values:

* A negative number: push SEV-capable hosts to the back (default -10.0).
* 0: treat them like any other host.
* A positive number: prefer them.

Related options:

* ``isolate_sev_hosts`` keeps such requests off SEV-capable hosts
  entirely.
* ``[filter_scheduler] weight_classes`` must include
  ``sev_scheduler.weighers.SEVWeigher``.
"""),
    cfg.BoolOpt(
        'isolate_sev_hosts',
        default=False,
        help="""
Keep requests without memory encryption off SEV-capable hosts entirely.

A host is SEV-capable when Placement knows it has encryption slots of any
AMD model, free or not.

Possible values:

* False (default): ordinary guests may use SEV-capable hosts; see
  ``plain_on_sev_weight_multiplier`` to make that the last resort.
* True: SEVFilter drops SEV-capable hosts for them.

Related options:

* ``plain_on_sev_weight_multiplier``.
"""),
    cfg.IntOpt(
        'max_guests_per_host',
        default=0,
        min=0,
        help="""
The most encrypted guests a host takes, all AMD models together, below what
its hardware allows.

Nova 2026.2 removed ``[libvirt] num_memory_encrypted_guests``, which capped
a compute host's SEV slots before: slots come from libvirt's ``maxGuests``
and ``maxESGuests``. SEVFilter drops a host for encrypted requests once
the slots used on it, as Placement counts them, reach this cap, on every
release. A host's aggregates can set their own with the metadata key
``sev_max_guests`` (the lowest value wins).

Possible values:

* 0 (default): the hardware limit only.
* A positive number: the cap for every host without an aggregate value.

Related options:

* ``[filter_scheduler] enabled_filters`` must include ``SEVFilter``.
"""),
    cfg.IntOpt(
        'placement_max_age',
        default=60,
        min=0,
        help="""
How long, in seconds, each scheduler process keeps what SEVFilter and
SEVWeigher read from Placement, beyond what Nova's own query brings.

That is: each compute node's provider tree (its MEMORY_MB allocation ratio,
which an operator may set in Placement alone, and its slots), read with one
small call per host when a request needs it, and the list of SEV-capable
hosts, for isolation and for weighing requests without encryption. Data
older than this is read again before it admits a guest; a cap is always
judged on slots read by the request itself. Each scheduler keeps its own
copy: after a change in Placement, every scheduler acts on it within this
many seconds.

The default, 60 seconds, is the interval at which compute hosts report
their resources to Placement and the scheduler by default: a change is
acted on within the time Nova itself takes to see most changes.

Possible values:

* 0: read again for every request (several calls per request).
* A positive number of seconds.

Related options:

* ``placement_sample_size``.
"""),
    cfg.IntOpt(
        'placement_sample_size',
        default=5,
        min=1,
        help="""
How many candidate hosts SEVFilter wants to admit, for one instance, before
it stops reading provider trees from Placement.

For models that lock guest memory (``amd-sev``, ``amd-sev-es``) and for
capped hosts, SEVFilter judges a host on its provider tree. Hosts whose tree
it read within ``placement_max_age`` (for a cap: during this request) are
judged first; then it reads the trees of other candidates, in random order,
one call each, until this many hosts pass (more for a multi-create: one
more per instance), at most four times this many calls. Candidates left
unread are not admitted for this request. So a request costs Placement a
few small calls, whatever the size of the cloud, and a scheduler that
has just started considers a few random hosts, then more as it serves
requests.

Possible values:

* A positive number (default 5). Nova's ``[scheduler] max_attempts``
  (default 3) hosts are needed for a host and its alternates.

Related options:

* ``placement_max_age``.
"""),
]


def validate(conf):
    """Read every option once, so that a bad value stops the service now.

    oslo.config checks a value when it is read: reading them all when the
    scheduler loads the plugin makes a bad nova.conf fail at start, with
    the option and the accepted values in the error, not on the first
    request.

    :raises ValueError: for a float that is NaN or infinite.
    """
    for opt in sev_opts:
        value = getattr(conf.sev_scheduler, opt.dest)
        # oslo.config reads "nan" and "inf" as floats, which no bound
        # refuses: a multiplier then makes every weight NaN.
        if isinstance(value, float) and not math.isfinite(value):
            raise ValueError('%s = %s: not a finite number'
                             % (opt.dest, value))


#: Nova's options that decide what its Placement query asks of a PCI
#: device, and so whether an alias of ``snp_pci_aliases`` is safe.
NOVA_DEVICE_OPTIONS = (
    ('pci', nova.conf.pci.pci_opts, 'alias'),
    ('filter_scheduler', nova.conf.scheduler.filter_scheduler_opts,
     'pci_in_placement'))


def use_scheduler_conf(paths, conf=None):
    """Take ``[sev_scheduler]`` from the scheduler's nova.conf files.

    For the operator commands run away from the scheduler: the values
    become this process's options, where the filter's own code reads them
    (the checks, the cap, overcommit, isolation), with Nova's
    ``[pci] alias`` and ``[filter_scheduler] pci_in_placement`` (what
    Nova asks Placement of a device); other sections are left alone.

    :raises ValueError: when a file cannot be read or holds a bad value.
    """
    conf = CONF if conf is None else conf
    private = cfg.ConfigOpts()
    register_opts(private)
    for group, opts, _ in NOVA_DEVICE_OPTIONS:
        private.register_opts(opts, group=group)
    try:
        private(args=[], project='nova', default_config_files=paths,
                default_config_dirs=[])
        validate(private)
        nova_values = [(group, name, getattr(private[group], name))
                       for group, _, name in NOVA_DEVICE_OPTIONS]
    except (cfg.Error, ValueError) as error:
        raise ValueError('cannot read the scheduler options of %s: %s'
                         % (', '.join(paths), error)) from None
    for opt in sev_opts:
        conf.set_override(opt.dest, getattr(private.sev_scheduler, opt.dest),
                          group=sev_group.name)
    for group, name, value in nova_values:
        conf.set_override(name, value, group=group)
    # Nova reads [pci] alias once per process.
    pci_request.get_alias_from_config.cache_clear()


def register_opts(conf):
    # A group of its own: oslo.config copies an OptGroup shallowly, so
    # overrides set in one ConfigOpts would show in every other one
    # registered with sev_group (the status command's, tests').
    conf.register_group(cfg.OptGroup(sev_group.name, title=sev_group.title,
                                     help=sev_group.help))
    conf.register_opts(sev_opts, group=sev_group.name)


def list_opts():
    return [(sev_group, sev_opts)]


# Nova's scheduler reads its options from nova.conf.CONF: ours live there too.
CONF = nova.conf.CONF
register_opts(CONF)
