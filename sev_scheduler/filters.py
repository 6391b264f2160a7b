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

"""SEVFilter: places AMD SEV guests and refuses what cannot work."""

from oslo_db import exception as db_exc
from oslo_log import log as logging

from nova import exception
from nova.scheduler import filters

from sev_scheduler import aggregates
from sev_scheduler import capacity
from sev_scheduler import checks
from sev_scheduler import conf
from sev_scheduler.i18n import _
from sev_scheduler import request as sev_request
from sev_scheduler import verdict

LOG = logging.getLogger(__name__)
CONF = conf.CONF


# Not a filters.CandidateFilterMixin: its filter_candidates() formats two
# debug messages per candidate whatever the log level, and nothing in Nova
# 2025.1 to 2026.2 looks for the mixin; capacity.keep_slot_candidates()
# narrows the candidates the same way, where they need narrowing.
class SEVFilter(filters.BaseHostFilter):
    """Place AMD SEV, SEV-ES and SEV-SNP guests where they can run.

    For a request asking for memory encryption (``hw:mem_encryption`` or
    ``hw_mem_encryption``, model from ``hw:mem_encryption_model`` or
    ``hw_mem_encryption_model``), once per request:

    * refuse an invalid request (malformed value, unknown model, conflict,
      missing UEFI...) and one that fails a check of
      ``[sev_scheduler] checks`` (PCI passthrough, vGPU, boot disk bus,
      IDE), raising NoValidHost with the reason, which Nova shows as the
      server's fault, e.g. "No valid host was found. Memory encryption
      (amd-sev) cannot be used with PCI passthrough: flavor alias 'gpu'";
    * on rebuild, refuse an image that turns encryption on, or changes its
      model, for a server that holds no slot of that model.

    Then per host: drop hosts without an allocation candidate carrying a
    ``MEM_ENCRYPTION_CONTEXT`` slot (Nova asked Placement for one, so every
    candidate it gives carries one; where it did not, the candidates are
    narrowed to those that do), whose RAM allocation ratio
    (``ram_allocation_ratio``, or MEMORY_MB's in Placement) is above 1.0
    for models that lock guest memory (amd-sev, amd-sev-es), or that
    reached their cap (``[sev_scheduler] max_guests_per_host``, aggregate
    ``sev_max_guests``). The ratio in Placement and the slots used come
    from each host's provider tree, a small read kept for
    ``[sev_scheduler] placement_max_age`` seconds (for a cap, read by the
    request itself); a request reads a few, until
    ``placement_sample_size`` hosts pass.

    Any other request gets its hosts back untouched, unless
    ``[sev_scheduler] isolate_sev_hosts`` keeps it off SEV-capable hosts.
    Nothing but NoValidHost leaves the filter: when something fails,
    encrypted requests are refused and all others pass.
    """

    # A new image can turn memory encryption on or change its model, which
    # Nova does not check on rebuild. Host usage is not checked then: the
    # instance's own slot is.
    RUN_ON_REBUILD = True

    def __init__(self):
        super().__init__()
        conf.validate(CONF)
        self._checks = checks.load(CONF.sev_scheduler.checks)

    def filter_all(self, filter_obj_list, spec_obj):
        req = hosts = None
        try:
            req = sev_request.for_spec(spec_obj)
            if not req.encryption.requested:
                # A rebuild keeps its host: isolation is for placing.
                if (not CONF.sev_scheduler.isolate_sev_hosts or
                        req.is_rebuild):
                    return filter_obj_list
                hosts = list(filter_obj_list)
                return _isolate(hosts, req)
            hosts = list(filter_obj_list)
            self._check_request(req, hosts)
            if req.is_rebuild:
                # The instance keeps its host and slot, checked above.
                return hosts
            return _with_free_slot(hosts, req)
        except exception.NoValidHost:
            raise
        except Exception as error:
            encrypted = (req.encryption.requested if req is not None
                         else sev_request.names_encryption(spec_obj))
            # The detail is the operator's; a traceback only for a bug.
            LOG.warning("SEVFilter cannot check memory encryption for "
                        "instance %(uuid)s: %(what)s",
                        {'uuid': _instance_uuid(spec_obj),
                         'what': _what_failed(error)},
                        exc_info=not isinstance(error, _OUTAGES))
            if not encrypted:
                return filter_obj_list if hosts is None else hosts
            # What a tenant reads: no word of the infrastructure.
            _refuse(spec_obj, None,
                    _("Memory encryption was requested but could not be "
                      "checked at this time; please try again later"))

    def _check_request(self, req, hosts):
        """Refuse the whole request if it can never work; no-op otherwise."""
        encryption = req.encryption
        # An invalid request is refused before any check looks it up.
        reason = (verdict.invalid_reason(req) or
                  verdict.conflict_reason(req, self._checks))
        if reason:
            _refuse(req.spec, encryption.model, reason)
        if req.is_rebuild and not capacity.instance_holds_slot(
                req.context, req.instance_uuid,
                {host.uuid for host in hosts}, encryption.config):
            _refuse(req.spec, encryption.model,
                    _("This rebuild asks for memory encryption (%(model)s) "
                      "but the server holds no %(model)s encryption slot: a "
                      "rebuild cannot turn memory encryption on or change "
                      "its model, create a new server instead")
                    % {'model': encryption.model})


# Why a host is dropped, at DEBUG.
_OVERCOMMITTED = ("%(host_state)s fails memory encryption: its memory may "
                  "be overcommitted (ram_allocation_ratio %(ratio)s) and "
                  "%(model)s guests lock their memory")
_NO_SLOT = "%(host_state)s fails memory encryption: no free %(model)s slot"


def _with_free_slot(hosts, req):
    """The hosts that can take one more guest of the request's model.

    First, per host, what Nova already holds, in constant time and without
    I/O: a candidate carrying a slot, the scheduler's RAM allocation ratio.
    Then, only for models that lock memory and for capped hosts, each
    host's provider tree from Placement (the request's SlotView, shared
    with SEVWeigher), a bounded number of small reads per request.
    """
    locks_memory = (req.encryption.config.needs_locked_memory and
                    not CONF.sev_scheduler.allow_memory_overcommit)
    default_cap = CONF.sev_scheduler.max_guests_per_host
    # Earlier instances of a multi-create took slots the trees read at the
    # first do not show: where each host stood at the first. A request for
    # one instance has none to count.
    claims = capacity.own_claims(req)
    instances = (req.spec.num_instances
                 if req.spec.obj_attr_is_set('num_instances') else 1)
    if instances > 1:
        claims.see(hosts)
    # Where Nova asked Placement for the slot, every candidate carries one
    # (Placement's contract): whether they do is known for the whole
    # request, not per host. A host without a candidate still fails.
    narrow = not req.slot_in_query
    # With debug off, a dropped host costs no logging call.
    debug = LOG.isEnabledFor(logging.DEBUG)
    model = req.encryption.model

    def admits(host_state, cap, tree):
        if not tree.known:
            reason = 'Placement did not describe its provider tree'
        elif locks_memory and tree.memory_overcommitted(host_state):
            reason = ('its memory is overcommitted in Placement and %s '
                      'guests lock their memory' % model)
        elif cap and tree.used + claims.on(host_state) >= cap:
            reason = 'its cap of %d encrypted guests is reached' % cap
        else:
            return True
        if debug:
            LOG.debug("%(host_state)s fails memory encryption: %(reason)s",
                      {'host_state': host_state, 'reason': reason})
        return False

    view = capacity.view(req)
    tree_of = view.lookup()
    # Hosts judged on a tree this scheduler knows pass here; those whose
    # tree it does not know wait in unknown, with where they would go.
    passing, unknown, admitted = [], [], 0
    # One loop over locals: it runs for every host of every encrypted
    # request.
    for host_state in hosts:
        if locks_memory and not _ratio_safe(host_state.ram_allocation_ratio):
            if debug:
                LOG.debug(_OVERCOMMITTED, {
                    'host_state': host_state,
                    'ratio': host_state.ram_allocation_ratio,
                    'model': model})
            continue
        if not (capacity.keep_slot_candidates(host_state) if narrow
                else host_state.allocation_candidates):
            if debug:
                LOG.debug(_NO_SLOT, {'host_state': host_state,
                                     'model': model})
            continue
        cap = (_cap(host_state, default_cap)
               if host_state.aggregates or default_cap else 0)
        if locks_memory or cap:
            tree = tree_of(host_state.uuid, cap)
            if tree is None:
                unknown.append((host_state, cap, len(passing)))
                continue
            if not admits(host_state, cap, tree):
                continue
            admitted += 1
        passing.append(host_state)
    if not unknown:
        return passing
    try:
        read = view.read_until(
            unknown, admits,
            CONF.sev_scheduler.placement_sample_size + instances - 1 -
            admitted)
    except capacity.PlacementUnavailable:
        # Hosts judged on recent trees still pass; with none, the request
        # is refused.
        if not admitted:
            raise
        read = []
    # Inserted from the last, each where Nova's order puts it.
    for host_state, cap, position in reversed(read):
        passing.insert(position, host_state)
    if debug and view.unread:
        LOG.debug("SEVFilter left %(count)d hosts unjudged for instance "
                  "%(uuid)s: enough passed on what Placement told this "
                  "scheduler", {'count': view.unread,
                                'uuid': req.instance_uuid})
    return passing


def _ratio_safe(ratio):
    """Whether a RAM allocation ratio is known not to overcommit memory.

    None, NaN, an infinity or a negative number are not known to be safe.
    """
    return ratio is not None and 0.0 <= ratio <= 1.0


def _cap(host_state, default):
    """The host's cap on encrypted guests, 0 for none."""
    return aggregates.strictest_cap(host_state, aggregates.CAP_KEY, default)


def _isolate(hosts, req):
    """Keep a request without encryption off SEV-capable hosts."""
    try:
        sev_hosts = capacity.sev_hosts(req)
    except capacity.PlacementUnavailable as error:
        # Not knowing which hosts have slots never refuses a plain request.
        LOG.warning("SEVFilter cannot isolate SEV hosts for instance "
                    "%(uuid)s: %(error)s",
                    {'uuid': req.instance_uuid, 'error': error})
        return hosts
    return [host for host in hosts if host.uuid not in sev_hosts]


# What fails without a bug of ours: a service or database out of reach.
_OUTAGES = (capacity.PlacementUnavailable, db_exc.DBError)


def _what_failed(error):
    """What went wrong, in words for the operator's log."""
    if isinstance(error, capacity.PlacementUnavailable):
        return str(error)
    if isinstance(error, db_exc.DBError):
        return 'the database could not be read (%s)' % type(error).__name__
    return 'internal error (%s)' % type(error).__name__


def _instance_uuid(spec_obj):
    try:
        return spec_obj.instance_uuid
    except Exception:
        return None


def _refuse(spec_obj, model, reason):
    LOG.info("Refusing instance %(uuid)s (memory encryption model "
             "%(model)s): %(reason)s",
             {'uuid': _instance_uuid(spec_obj), 'model': model or 'unknown',
              'reason': reason})
    raise exception.NoValidHost(reason=reason) from None
