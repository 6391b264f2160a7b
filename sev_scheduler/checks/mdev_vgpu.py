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

"""mdev and other device resources: host memory the guest cannot encrypt.

A flavor asks for a device as a resource in any request group
(``resources[$SUFFIX]:$CLASS``): a vGPU (``VGPU``), a mediated device under
a custom class (``[mdev_$TYPE] mdev_class = CUSTOM_...`` on the compute),
or another device class. Placement cannot tell the scheduler whether a
custom class is a device, so one is refused unless the operator declares
it in ``[sev_scheduler] safe_resource_classes``.
"""

import os_resource_classes as orc

from nova.scheduler import utils as scheduler_utils

from sev_scheduler.checks import base
from sev_scheduler import conf
from sev_scheduler.i18n import _

#: Standard classes of things passed through to, or emulated for, the
#: guest: always refused.
DEVICE_CLASSES = frozenset((
    orc.VGPU, orc.VGPU_DISPLAY_HEAD, orc.PGPU, orc.FPGA, orc.PCI_DEVICE,
    orc.SRIOV_NET_VF))

#: Standard classes that are no device: never refused. Any other class,
#: including a standard one os-resource-classes adds later, is judged
#: a device until declared safe.
NOT_DEVICES = frozenset((
    orc.VCPU, orc.PCPU, orc.MEMORY_MB, orc.DISK_GB,
    orc.MEM_ENCRYPTION_CONTEXT, orc.NUMA_SOCKET, orc.NUMA_CORE,
    orc.NUMA_THREAD, orc.NUMA_MEMORY_MB, orc.IPV4_ADDRESS,
    orc.NET_BW_EGR_KILOBIT_PER_SEC, orc.NET_BW_IGR_KILOBIT_PER_SEC,
    orc.NET_PACKET_RATE_KILOPACKET_PER_SEC,
    orc.NET_PACKET_RATE_EGR_KILOPACKET_PER_SEC,
    orc.NET_PACKET_RATE_IGR_KILOPACKET_PER_SEC))


def _is_nonzero(amount):
    try:
        return int(amount) != 0
    except (TypeError, ValueError):
        # Not a count Nova could use either: refuse rather than guess.
        return True


def is_device(resource_class, safe_classes):
    """Whether a resource class may be a device the guest gets."""
    if resource_class in DEVICE_CLASSES:
        return True
    return (resource_class not in NOT_DEVICES and
            resource_class not in safe_classes)


def describe(key, amount, resource_class):
    """The phrase for one device resource in the flavor.

    Short: several must fit in Nova's 255-character fault.
    """
    if resource_class == orc.VGPU:
        return _("mdev vGPU: flavor extra spec %(key)s=%(amount)s") % {
            'key': key, 'amount': amount}
    if resource_class in DEVICE_CLASSES:
        return _("device %(class)s: flavor extra spec %(key)s=%(amount)s") % {
            'class': resource_class, 'key': key, 'amount': amount}
    return _("mdev or device: %(key)s=%(amount)s (see "
             "safe_resource_classes)") % {'key': key, 'amount': amount}


class MdevVgpuCheck(base.RequestCheck):
    """Memory encryption cannot be used with a device resource.

    VGPU and the other device classes in any request group of the flavor,
    and custom classes not in ``[sev_scheduler] safe_resource_classes``.
    """

    def conflicts(self, request):
        safe_classes = set(conf.CONF.sev_scheduler.safe_resource_classes)
        conflicts = []
        for key, amount in sorted(request.extra_specs.items()):
            # The key syntax Nova parses: resources[$SUFFIX]:$CLASS.
            match = scheduler_utils.ResourceRequest.XS_KEYPAT.match(key)
            if not match:
                continue
            prefix, _suffix, resource_class = match.groups()
            if (prefix == scheduler_utils.ResourceRequest.XS_RES_PREFIX and
                    is_device(resource_class, safe_classes) and
                    _is_nonzero(amount)):
                conflicts.append(describe(key, amount, resource_class))
        return conflicts
