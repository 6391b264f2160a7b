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

import contextlib
import functools
import math
import random
import time
import weakref

import os_resource_classes as orc
import os_traits

from nova import exception
from nova.scheduler.client import report

from sev_scheduler import compat
from sev_scheduler import conf

CONF = conf.CONF
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


def _get(context, url):
    client = report.report_client_singleton()
    with _placement_call():
        response = client.get(url, version=PLACEMENT_VERSION,
                              global_request_id=context.global_id)
    if not response:
        raise PlacementUnavailable('Placement answered %s'
                                   % response.status_code)
    return response.json()


def _count(value):
    """Whether a value is a count: a whole number, not negative.

    Placement counts capacity and usage in whole numbers, as Nova counts a
    host's memory. Anything else (NaN, an infinity, a negative or
    fractional number, None) says nothing known, so nothing safe.
    """
    return type(value) is int and value >= 0


class Tree:
    """One compute node's provider tree, as Placement summarised it.

    Read with one small call (:func:`read_tree`): the root provider with
    its memory, and the memory encryption slot providers (the root itself
    before Nova 2025.2, children since), each with capacity, usage and
    traits.
    """

    def __init__(self, root, summaries):
        self._root = root
        self._summaries = summaries

    @property
    def known(self):
        """Whether Placement described the tree at all."""
        return bool(self._summaries)

    def _slots(self):
        for summary in self._summaries.values():
            slots = summary['resources'].get(SLOT)
            if slots is not None:
                yield summary, slots

    @functools.cached_property
    def used(self):
        """Slots used, all models together.

        Infinite when a provider's usage is not a count: an unknown usage
        never leaves room under a cap.
        """
        used = 0
        for _, slots in self._slots():
            if not _count(slots.get('used')):
                return math.inf
            used += slots['used']
        return used

    def free(self, trait):
        """Free slots of the model whose trait is ``trait``.

        A provider whose capacity or usage is not a count adds none.
        """
        free = 0
        for summary, slots in self._slots():
            if trait in summary['traits']:
                capacity, used = slots.get('capacity'), slots.get('used')
                if _count(capacity) and _count(used) and capacity > used:
                    free += capacity - used
        return free

    def memory_overcommitted(self, host_state):
        """Whether Placement may overcommit the host's memory.

        With ``[DEFAULT] ram_allocation_ratio`` unset, an operator sets the
        MEMORY_MB allocation ratio in Placement, and the compute keeps it,
        while ``HostState.ram_allocation_ratio`` still says 1.0. Placement
        counts (total - reserved) x ratio: a capacity above the host's
        whole memory means a ratio above 1.0. (A ratio so close to 1.0
        that it does not outgrow the reserved memory is not seen.) Memory
        that Placement does not describe, or that either it or the
        scheduler does not count in whole MB, is not known to be safe.
        """
        summary = self._summaries.get(self._root)
        ram = summary['resources'].get(orc.MEMORY_MB) if summary else None
        if ram is None:
            return True
        capacity, usable = ram.get('capacity'), host_state.total_usable_ram_mb
        return not (_count(capacity) and _count(usable) and
                    capacity <= usable)


def read_tree(context, root):
    """Read one compute node's tree: one call, its answer one tree's size.

    ``in_tree`` keeps Placement's work and answer to that tree; a
    candidate for one MB of memory brings the summary of every provider
    in it. A host whose memory is all allocated gets an unknown tree.

    :raises PlacementUnavailable: when Placement does not answer.
    """
    return Tree(root, _get(
        context, '/allocation_candidates?resources=%s:1&in_tree=%s&limit=1'
        % (orc.MEMORY_MB, root))['provider_summaries'])


def _read_sev_roots(context):
    providers = _get(context, '/resource_providers?required=in:%s'
                     % ','.join(MODEL_TRAITS.values()))['resource_providers']
    return frozenset(provider['root_provider_uuid']
                     for provider in providers)


class Cache:
    """What this scheduler process read from Placement, and when.

    Nothing is shared between schedulers but Placement: each process keeps
    its own copy, and each entry serves for ``[sev_scheduler]
    placement_max_age`` seconds after it was read, never longer.
    """

    def __init__(self, clock=time.monotonic):
        self._clock = clock
        self._trees = {}
        self._sev_roots = None
        # Entries are dropped once they are too old to serve, when the
        # cache has doubled since the last sweep: memory stays in
        # proportion to the hosts read within the age.
        self._sweep_at = 64

    def _oldest(self):
        """When the oldest entry that may still serve was read."""
        return self._clock() - CONF.sev_scheduler.placement_max_age

    def recent(self):
        """A function giving a root's tree if read within the age, or None.

        For one pass over many hosts: the age is checked against one
        reading of the clock.
        """
        trees = self._trees
        oldest = self._oldest()

        def tree(root):
            entry = trees.get(root)
            if entry is not None and entry[0] >= oldest:
                return entry[1]
            return None
        return tree

    def tree(self, root):
        """A tree read recently enough, or None."""
        return self.recent()(root)

    def read_tree(self, context, root):
        tree = read_tree(context, root)
        self._trees[root] = (self._clock(), tree)
        if len(self._trees) >= self._sweep_at:
            oldest = self._oldest()
            self._trees = {root: entry for root, entry in self._trees.items()
                           if entry[0] >= oldest}
            self._sweep_at = max(64, 2 * len(self._trees))
        return tree

    def sev_roots(self, context):
        """The compute nodes with slots of any AMD model, full or not.

        One listing of the slot providers, once per maximum age.
        """
        if self._sev_roots is None or self._sev_roots[0] < self._oldest():
            self._sev_roots = (self._clock(), _read_sev_roots(context))
        return self._sev_roots[1]


# This scheduler process's copy.
CACHE = Cache()


class SlotView:
    """The trees of the hosts one request considers.

    Per request, shared by SEVFilter and SEVWeigher: trees this scheduler
    read within ``[sev_scheduler] placement_max_age``, and the few this
    request reads itself, which alone are fresh enough for a cap.
    """

    def __init__(self, context):
        self._context = context
        #: trees read during this request, by compute node UUID
        self._read = {}
        #: hosts the last read_until() left unread, for the filter's log
        self.unread = 0

    def lookup(self):
        """``tree(uuid, fresh)``: a host's tree, None when not known.

        For one pass over the hosts, without I/O. ``fresh``: only a tree
        this request read will do (for a cap).
        """
        read = self._read.get
        recent = CACHE.recent()

        def tree(uuid, fresh=False):
            found = read(uuid)
            if found is None and not fresh:
                found = recent(uuid)
            return found
        return tree

    def read_until(self, unknown, admits, want):
        """Read trees of hosts not known, until ``want`` are admitted.

        In random order (so that no host is always first), one call each,
        at most four times ``want`` calls. Hosts left unread are not
        admitted this time: a request reads a bounded amount, whatever the
        size of the cloud.

        :param unknown: entries ``(host_state, cap, ...)``; the rest of an
            entry is the caller's.
        :param admits: ``admits(host_state, cap, tree)``.
        :returns: the entries admitted, in the order of ``unknown``.
        :raises PlacementUnavailable: when a read fails and none was
            admitted.
        """
        admitted, reads, error = [], 0, None
        # A sample, not a shuffle: a request touches a few of thousands.
        for index in random.sample(range(len(unknown)),
                                   max(0, min(len(unknown), 4 * want))):
            if len(admitted) >= want:
                break
            host_state, cap = unknown[index][:2]
            reads += 1
            try:
                tree = self._read[host_state.uuid] = CACHE.read_tree(
                    self._context, host_state.uuid)
            except PlacementUnavailable as e:
                error = e
                break
            if admits(host_state, cap, tree):
                admitted.append(index)
        self.unread = len(unknown) - reads
        if error is not None and not admitted:
            raise error
        return [unknown[index] for index in sorted(admitted)]

    def trees(self, hosts, want):
        """Each host's tree or None, ``want`` known at least if possible.

        For SEVWeigher: the trees SEVFilter read, and a few more read here
        when fewer than ``want`` are known.
        """
        tree = self.lookup()
        found = [tree(host_state.uuid) for host_state in hosts]
        unknown = [(host_state, 0) for host_state, known in zip(hosts, found)
                   if known is None]
        self.read_until(unknown, lambda host_state, cap, tree: True,
                        want - (len(hosts) - len(unknown)))
        if unknown:
            tree = self.lookup()
            found = [tree(host_state.uuid) for host_state in hosts]
        return found


def sev_hosts(req):
    """Compute nodes with slots of any AMD model, full or not.

    :raises PlacementUnavailable: when Placement does not answer.
    """
    return CACHE.sev_roots(req.context)


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
    """The request's SlotView, made on first use."""
    if request.slot_view is None:
        request.slot_view = SlotView(request.context)
    return request.slot_view
