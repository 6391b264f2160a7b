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

import contextlib

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


def in_use():
    """Whether an operator set either option (on any release)."""
    group = conf.CONF.sev_scheduler
    return bool(group.snp_pci_aliases or group.confidential_device_traits)


def required_traits(spec):
    """The traits a PCI spec makes Nova's Placement query require.

    Nova's own normalisation (``"traits": "cc_on"`` asks for
    ``CUSTOM_CC_ON``).
    """
    return pci_placement_translator.get_traits(spec.get('traits', ''))


def requires_cc_trait(specs):
    """Whether every spec requires a confidential device's trait."""
    cc_traits = set(conf.CONF.sev_scheduler.confidential_device_traits)
    return bool(specs) and all(required_traits(spec) & cc_traits
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


def alias_problem(name, aliases, error=None):
    """What keeps an alias of ``snp_pci_aliases`` from being safe, or None.

    :param aliases: the scheduler's aliases, see :func:`nova_aliases`.
    :param error: Nova's error reading them, if any.
    :returns: a short phrase, e.g. "[filter_scheduler] pci_in_placement is
        off".
    """
    if not conf.CONF.filter_scheduler.pci_in_placement:
        return _('%s is off') % PLACEMENT_OPTION
    if error:
        return _('Nova cannot read [pci] alias')
    if name not in aliases:
        return _('not in [pci] alias')
    if not requires_cc_trait(aliases[name][1]):
        return _('its [pci] alias requires no trait of %s') % TRAITS_OPTION
    return None


@contextlib.contextmanager
def scheduler_conf(alias, pci_in_placement):
    """Nova reads these ``[pci] alias`` and ``pci_in_placement`` meanwhile.

    For commands run away from the scheduler, as
    ``conf.use_scheduler_conf``: Nova's parser reads this process's
    options; they are set back after.
    """
    conf.CONF.set_override('alias', alias, group='pci')
    conf.CONF.set_override('pci_in_placement', pci_in_placement,
                           group='filter_scheduler')
    pci_request.get_alias_from_config.cache_clear()
    try:
        yield
    finally:
        conf.CONF.clear_override('alias', group='pci')
        conf.CONF.clear_override('pci_in_placement',
                                 group='filter_scheduler')
        pci_request.get_alias_from_config.cache_clear()
