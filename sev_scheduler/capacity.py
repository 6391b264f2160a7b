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

"""Which hosts can take one more guest of a memory encryption model."""

import collections
import contextlib
import functools
import weakref

import os_resource_classes as orc
import os_traits

from nova import exception
from nova.scheduler.client import report

from sev_scheduler import compat

PLACEMENT_VERSION = '1.39'
SLOT = orc.MEM_ENCRYPTION_CONTEXT
# The slot providers' trait per model the running Nova honours.
MODEL_TRAITS = compat.MODEL_TRAITS

# Before Nova 2025.2 slots were on the root provider and AMD SEV was the
# only model.
ROOT_PROVIDER_TRAIT = os_traits.HW_CPU_X86_AMD_SEV


class PlacementUnavailable(Exception):
    """Placement did not answer; the message says how."""


@contextlib.contextmanager
def _placement_call():
    """Turn whatever a Placement call raises into PlacementUnavailable."""
    try:
        yield
    except PlacementUnavailable:
        raise
    except exception.NovaException as error:
        # Nova's client turns an error status into an exception of its own.
        raise PlacementUnavailable('Placement answered with an error (%s)'
                                   % type(error).__name__) from None
    except Exception as error:
        raise PlacementUnavailable('Placement is unreachable (%s)'
                                   % type(error).__name__) from None


def carries_slot(candidate):
    """Whether an allocation candidate allocates a memory encryption slot.

    Nova asked Placement for the model's trait along with the slot (since
    2025.2; before, AMD SEV was the only model), so a candidate carrying
    the slot has one of the requested model, whichever provider holds it:
    the compute node's root provider before Nova 2025.2, a child provider
    per model since.
    """
    # A loop, not any() over a generator: this runs for every candidate
    # of every host, and a generator costs as much as the check.
    for allocation in candidate['allocations'].values():
        if SLOT in allocation['resources']:
            return True
    return False


def keep_slot_candidates(host_state):
    """Keep only the host's allocation candidates that carry a slot.

    What Nova's ``CandidateFilterMixin.filter_candidates`` does, on every
    release from 2025.1 to 2026.2: a new list replaces
    ``host_state.allocation_candidates`` (Nova claims the first candidate
    left of the host it picks). Without its debug messages, which it
    formats for each candidate whatever the log level.

    :returns: the candidates kept.
    """
    kept = list(filter(carries_slot, host_state.allocation_candidates))
    host_state.allocation_candidates = kept
    return kept


def instance_holds_slot(context, instance_uuid, root_uuids, config):
    """Whether an instance holds a slot of the model, asking Placement.

    For a rebuild, where Nova fetches no allocation candidates. A slot on a
    compute node's root provider is the layout before Nova 2025.2, which
    knew AMD SEV alone; a slot on a child provider is of the model whose
    trait the provider has.

    :param root_uuids: the compute node (root provider) UUIDs of the hosts
        considered.
    :param config: the requested model's ``compat.MemEncryption``.
    :raises PlacementUnavailable: when Placement does not answer.
    """
    client = report.report_client_singleton()
    with _placement_call():
        allocations = client.get_allocs_for_consumer(
            context, instance_uuid)['allocations']
    for rp_uuid, allocation in allocations.items():
        if orc.MEM_ENCRYPTION_CONTEXT not in allocation['resources']:
            continue
        if rp_uuid in root_uuids:
            return config.trait == ROOT_PROVIDER_TRAIT
        with _placement_call():
            traits = client.get_provider_traits(context, rp_uuid).traits
        return config.trait in traits
    return False


class SlotView:
    """Encryption slots per compute node, for one request.

    Read from one Placement call and kept on the request, so that SEVFilter
    and SEVWeigher share it and nothing outlives the request. Keys are the
    compute nodes' root provider UUIDs (``HostState.uuid``). The answer is
    kept as Placement gave it and tallied only when asked: the filter's
    memory check looks up one summary per host, and only a cap, the
    weigher or isolation needs the sums over the whole answer.
    """

    def __init__(self, summaries=None, trait=None, sev_hosts=None):
        #: allocation candidates' provider summaries, by provider UUID
        self._summaries = summaries or {}
        #: the requested model's trait
        self._trait = trait
        self._sev_hosts = sev_hosts

    @functools.cached_property
    def _tally(self):
        used = collections.Counter()
        free = collections.Counter()
        for summary in self._summaries.values():
            slots = summary['resources'].get(SLOT)
            if slots is None:
                continue
            root = summary['root_provider_uuid']
            used[root] += slots['used']
            if self._trait in summary['traits']:
                free[root] += slots['capacity'] - slots['used']
        return used, free

    @property
    def sev_hosts(self):
        """Hosts with slots of any AMD model."""
        if self._sev_hosts is None:
            self._sev_hosts = frozenset(self.used)
        return self._sev_hosts

    @property
    def used(self):
        """Slots used on a host, all models together."""
        return self._tally[0]

    @property
    def free(self):
        """Free slots of the requested model on a host."""
        return self._tally[1]

    def memory_overcommitted(self, host_state):
        """Whether the host's memory may be overcommitted.

        Its ``ram_allocation_ratio`` says so, unknown is not known to be
        safe, or Placement does: with ``[DEFAULT] ram_allocation_ratio``
        unset, an operator sets the MEMORY_MB allocation ratio in
        Placement, and the compute keeps it, while
        ``HostState.ram_allocation_ratio`` still says 1.0. Placement counts
        (total - reserved) x ratio, in the summary of the compute node's
        root provider, which has its memory: a capacity above the host's
        whole memory means a ratio above 1.0. (A ratio so close to 1.0 that
        it does not outgrow the reserved memory is not seen.) A host whose
        memory Placement counts while the scheduler knows none is not known
        to be safe.
        """
        # One method, dictionary lookups inline: it runs for every host of
        # every amd-sev and amd-sev-es request.
        ratio = host_state.ram_allocation_ratio
        if ratio is None or ratio > 1.0:
            return True
        summary = self._summaries.get(host_state.uuid)
        if summary is None:
            return False
        ram = summary['resources'].get(orc.MEMORY_MB)
        return ram is not None and ram['capacity'] > (
            host_state.total_usable_ram_mb or 0)


def _get(context, url):
    client = report.report_client_singleton()
    with _placement_call():
        response = client.get(url, version=PLACEMENT_VERSION,
                              global_request_id=context.global_id)
    if not response:
        raise PlacementUnavailable('Placement answered %s'
                                   % response.status_code)
    return response.json()


def _read_view(request):
    config = request.encryption.config
    if config is None:
        # Which hosts have slots at all, full ones included.
        providers = _get(request.context, '/resource_providers?required=in:%s'
                         % ','.join(MODEL_TRAITS.values()))
        return SlotView(sev_hosts=frozenset(
            provider['root_provider_uuid']
            for provider in providers['resource_providers']))
    # The trees with a free slot of the model, every provider of each.
    summaries = _get(request.context,
                     '/allocation_candidates?resources=%s:1&required=%s'
                     % (SLOT, config.trait))['provider_summaries']
    return SlotView(summaries, config.trait)


class OwnClaims:
    """The slots a request's own earlier instances took, per host.

    Nova calls the filters and weighers once per instance of a
    multi-create, with the same RequestSpec, and between two instances
    consumes the host it chose: ``HostState.consume_from_request`` adds one
    to that HostState's ``num_instances``, the HostState objects being the
    same along the request. What ``num_instances`` gained on a host since
    the request first saw it is what the request took there, which its
    SlotView, read from Placement once, cannot know. No I/O. Another
    request consuming the same host in this scheduler meanwhile is counted
    too: it errs towards the cap.
    """

    def __init__(self):
        self._first = {}

    def see(self, hosts):
        """Note the hosts the request is about to judge."""
        first = self._first
        if not first:
            # The request's first instance: every host is new.
            self._first = {host_state.uuid: host_state.num_instances or 0
                           for host_state in hosts}
            return
        for host_state in hosts:
            if host_state.uuid not in first:
                first[host_state.uuid] = host_state.num_instances or 0

    def on(self, host_state):
        """How many slots the request already took on a host."""
        first = self._first.get(host_state.uuid)
        if first is None:
            return 0
        return max(0, (host_state.num_instances or 0) - first)


# Per request, as long as the request lives.
_claims = weakref.WeakKeyDictionary()


def own_claims(request):
    """The request's OwnClaims, shared by SEVFilter and SEVWeigher."""
    claims = _claims.get(request)
    if claims is None:
        claims = _claims[request] = OwnClaims()
    return claims


def view(request):
    """The request's SlotView: one Placement call, on first use only.

    :raises PlacementUnavailable: when Placement does not answer.
    """
    if request.slot_view is None:
        request.slot_view = _read_view(request)
    return request.slot_view
