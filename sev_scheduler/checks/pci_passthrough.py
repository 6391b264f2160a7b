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

The one exception: an ``amd-sev-snp`` request whose devices all come from
aliases of ``[sev_scheduler] snp_pci_aliases``, each set up so that Nova's
Placement query offers only devices in confidential-computing mode (see
``sev_scheduler.confidential``). Every other refusal names that way out
once the option is set.
"""

import collections

from nova.objects import instance_pci_requests

from sev_scheduler.checks import base
from sev_scheduler import conf
from sev_scheduler import confidential
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
        conflicts = [conflict for _, conflict in alias_verdicts(request)
                     if conflict]
        port_way_out = (_(" (use a flavor alias of %(option)s with "
                          "%(model)s)") % {
                              'option': confidential.ALIASES_OPTION,
                              'model': confidential.MODEL}
                        if confidential.allowed_aliases() else '')
        return conflicts + [_("PCI passthrough: SR-IOV port %s") % port +
                            port_way_out for port in _ports(request)]


def _ports(request):
    """The ports the request's PCI requests come from."""
    return [pci_request.requester_id or 'with no ID'
            for pci_request in request.pci_requests
            if pci_request.source !=
            instance_pci_requests.InstancePCIRequest.FLAVOR_ALIAS]


def alias_verdicts(request):
    """[(flavor alias, why it cannot be used)] of a request.

    None for a confidential device: what the filter lets through.
    """
    aliases = flavor_aliases(request.extra_specs)
    # What Nova asks Placement for, per alias: the specs it copied from
    # the API's [pci] alias into the request.
    specs = collections.defaultdict(list)
    for pci_request in request.pci_requests:
        if (pci_request.source ==
                instance_pci_requests.InstancePCIRequest.FLAVOR_ALIAS):
            if pci_request.alias_name not in aliases:
                aliases.append(pci_request.alias_name)
            specs[pci_request.alias_name].extend(pci_request.spec or [{}])
    allowed = confidential.allowed_aliases()
    return [(alias, _alias_conflict(alias, request, allowed,
                                    specs.get(alias)))
            for alias in aliases]


def _alias_conflict(alias, request, allowed, specs):
    """Why a flavor alias cannot be used; None for a confidential device.

    :param allowed: the aliases of ``snp_pci_aliases`` in effect.
    :param specs: the request's PCI specs for the alias, if it has any
        (check-request has none).
    """
    phrase = _("PCI passthrough: flavor alias '%s'") % alias
    if not allowed:
        return phrase
    if request.encryption.model != confidential.MODEL:
        return phrase + _(" (use %(model)s and an alias listed in "
                          "%(option)s)") % {
                              'model': confidential.MODEL,
                              'option': confidential.ALIASES_OPTION}
    if alias not in allowed:
        return phrase + _(" (not in %s)") % confidential.ALIASES_OPTION
    cc_traits = conf.CONF.sev_scheduler.confidential_device_traits
    problem = confidential.alias_problem(
        alias, *confidential.nova_aliases(), cc_traits=cc_traits,
        pci_in_placement=conf.CONF.filter_scheduler.pci_in_placement)
    if problem:
        return phrase + _(" is not safe: %s") % confidential.describe(
            problem)
    if specs and not confidential.requires_cc_trait(specs, cc_traits):
        # Made from another [pci] alias than the scheduler's (an API node
        # set up otherwise, or a server older than the change).
        return phrase + _(" is not safe: the server's PCI request requires "
                          "no trait of %s") % confidential.TRAITS_OPTION
    return None
