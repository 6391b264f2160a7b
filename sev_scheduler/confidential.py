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

"""Confidential devices: the PCI aliases amd-sev-snp guests may request.

``[sev_scheduler] snp_pci_aliases`` lists them. An alias is safe only when
Nova's own Placement query can offer nothing but devices in
confidential-computing mode: the scheduler's ``[pci] alias`` requires a
trait of ``[sev_scheduler] confidential_device_traits`` for it, and
``[filter_scheduler] pci_in_placement`` is on. Read here, with Nova's own
alias parser, for the ``pci_passthrough`` check and for
``sev-scheduler-status``, so both say the same.
"""

from nova.compute import pci_placement_translator
from nova import exception
from nova.pci import request as pci_request

from sev_scheduler import compat
from sev_scheduler import conf
from sev_scheduler.i18n import _

MODEL = compat.AMD_SEV_SNP

#: Whether the running Nova places SEV-SNP guests: without, the options do
#: nothing (before OpenStack 2026.2).
SUPPORTED = MODEL in compat.AMD_MODELS

#: The options, as the messages name them.
ALIASES_OPTION = '[sev_scheduler] snp_pci_aliases'
TRAITS_OPTION = '[sev_scheduler] confidential_device_traits'
PLACEMENT_OPTION = '[filter_scheduler] pci_in_placement'


def allowed_aliases():
    """The aliases of ``snp_pci_aliases`` that take effect here."""
    if not SUPPORTED:
        return []
    return [name.strip() for name in conf.CONF.sev_scheduler.snp_pci_aliases
            if name.strip()]


def required_traits(spec):
    """The traits a PCI spec makes Nova's Placement query require.

    Nova's own normalisation (``"traits": "cc_on"`` asks for
    ``CUSTOM_CC_ON``).
    """
    return pci_placement_translator.get_traits(spec.get('traits', ''))


def resource_class(spec):
    """The resource class Nova's Placement query asks of a PCI spec."""
    return pci_placement_translator.get_resource_class(
        spec.get('resource_class'), spec.get('vendor_id'),
        spec.get('product_id'))


def requires_cc_trait(specs, cc_traits):
    """Whether every spec requires one of ``cc_traits``."""
    return bool(specs) and all(required_traits(spec) & set(cc_traits)
                               for spec in specs)


def nova_aliases():
    """(the scheduler's ``[pci] alias`` as Nova reads it, Nova's error).

    The aliases are ``{name: (numa_policy, [spec, ...])}``; ``{}`` and the
    error when Nova cannot read them.
    """
    try:
        return pci_request.get_alias_from_config(), None
    except exception.PciInvalidAlias as error:
        return {}, error.format_message()


# What keeps an alias of snp_pci_aliases from being safe.
PLACEMENT_OFF = 'placement off'
UNREADABLE = 'unreadable'
UNDEFINED = 'undefined'
NO_CC_TRAIT = 'no CC trait'


def alias_problem(name, aliases, error, cc_traits, pci_in_placement):
    """What keeps an alias of ``snp_pci_aliases`` from being safe, or None.

    :param aliases: the scheduler's aliases, and :param error: Nova's error
        reading them, see :func:`nova_aliases`.
    :param cc_traits: ``confidential_device_traits``.
    :param pci_in_placement: ``[filter_scheduler] pci_in_placement``.
    :returns: PLACEMENT_OFF, UNREADABLE, UNDEFINED, NO_CC_TRAIT or None.
    """
    if not pci_in_placement:
        return PLACEMENT_OFF
    if error:
        return UNREADABLE
    if name not in aliases:
        return UNDEFINED
    if not requires_cc_trait(aliases[name][1], cc_traits):
        return NO_CC_TRAIT
    return None


def describe(problem):
    """A problem of :func:`alias_problem`, in a few words."""
    return {
        PLACEMENT_OFF: _('%s is off') % PLACEMENT_OPTION,
        UNREADABLE: _('Nova cannot read [pci] alias'),
        UNDEFINED: _('not in [pci] alias'),
        NO_CC_TRAIT: _('its [pci] alias requires no trait of %s')
        % TRAITS_OPTION,
    }[problem]


def read_aliases(alias, pci_in_placement):
    """:func:`nova_aliases` of other ``[pci] alias`` lines.

    For commands run away from the scheduler, with the options of its
    nova.conf: Nova's parser reads this process's options, which are set
    for the call and cleared after, as Nova's own tests set them.
    """
    conf.CONF.set_override('alias', alias, group='pci')
    conf.CONF.set_override('pci_in_placement', pci_in_placement,
                           group='filter_scheduler')
    pci_request.get_alias_from_config.cache_clear()
    try:
        return nova_aliases()
    finally:
        conf.CONF.clear_override('alias', group='pci')
        conf.CONF.clear_override('pci_in_placement',
                                 group='filter_scheduler')
        pci_request.get_alias_from_config.cache_clear()
