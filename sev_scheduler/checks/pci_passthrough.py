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

"""PCI passthrough: an encrypted guest's memory is out of a device's reach.

Refuses PCI devices requested through a flavor alias
(``pci_passthrough:alias``) or through SR-IOV ports; both end up in
``RequestSpec.pci_requests``. The flavor key alone counts too, so that the
check also works where no alias is defined (offline, or a broken alias).
"""

from nova.objects import instance_pci_requests

from sev_scheduler.checks import base
from sev_scheduler.i18n import _

ALIAS_KEY = 'pci_passthrough:alias'


def flavor_aliases(extra_specs):
    """Alias names in a ``pci_passthrough:alias`` value ("gpu:2,nic:1")."""
    value = extra_specs.get(ALIAS_KEY)
    if value is None:
        return []
    names = [item.partition(':')[0].strip() for item in value.split(',')]
    return [name for name in names if name] or [value]


class PciPassthroughCheck(base.RequestCheck):
    """Memory encryption cannot be used with PCI passthrough."""

    def conflicts(self, request):
        aliases = flavor_aliases(request.extra_specs)
        ports = []
        for pci_request in request.pci_requests:
            if (pci_request.source ==
                    instance_pci_requests.InstancePCIRequest.FLAVOR_ALIAS):
                if pci_request.alias_name not in aliases:
                    aliases.append(pci_request.alias_name)
            else:
                ports.append(pci_request.requester_id or 'with no ID')
        return ([_("PCI passthrough: flavor alias '%s'") % alias
                 for alias in aliases] +
                [_("PCI passthrough: SR-IOV port %s") % port
                 for port in ports])
