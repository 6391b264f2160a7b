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

"""SEVWeigher: spread or pack encrypted guests; keep others off SEV hosts."""

import threading

from oslo_log import log as logging

from nova.scheduler import weights

from sev_scheduler import aggregates
from sev_scheduler import capacity
from sev_scheduler import conf
from sev_scheduler import request as sev_request

LOG = logging.getLogger(__name__)
CONF = conf.CONF
MULTIPLIER_AGGREGATE_KEY = 'sev_weight_multiplier'


class SEVWeigher(weights.BaseHostWeigher):
    """Weigh hosts by encryption slots.

    A request asking for memory encryption: each host weighs its free slots
    of the requested model; ``[sev_scheduler] weight_multiplier`` (or the
    aggregate key ``sev_weight_multiplier``) spreads guests when positive,
    packs them when negative.

    A request without: SEV-capable hosts weigh 1, others 0, times
    ``[sev_scheduler] plain_on_sev_weight_multiplier`` (default -10.0: SEV
    hosts last).

    Free slots come from the hosts' provider trees, shared with SEVFilter
    (``[sev_scheduler] placement_max_age``); SEV-capable hosts from one
    listing per maximum age. If Placement cannot be read, every host weighs
    the same.
    """

    def __init__(self):
        super().__init__()
        conf.validate(CONF)
        # Nova asks weight_multiplier() per host without the request:
        # what kind of request is being weighed is kept per thread (per
        # greenthread under eventlet), as schedulers weigh concurrently.
        self._current = threading.local()

    def weigh_objects(self, weighed_obj_list, spec_obj):
        self._current.encrypted = False
        self._current.multiplier = (
            CONF.sev_scheduler.plain_on_sev_weight_multiplier)
        try:
            return self._weights(weighed_obj_list, spec_obj)
        except Exception as error:
            # Weighing is a preference: never fail a request over it.
            LOG.warning("SEVWeigher cannot weigh hosts: %s", error,
                        exc_info=not isinstance(
                            error, capacity.PlacementUnavailable))
            return [0.0] * len(weighed_obj_list)

    def _weights(self, weighed_obj_list, spec_obj):
        req = sev_request.for_spec(spec_obj)
        if req.encryption.config is not None:
            self._current.encrypted = True
            self._current.multiplier = CONF.sev_scheduler.weight_multiplier
            return self._free_slots(req, [obj.obj for obj in
                                          weighed_obj_list])
        if not self._current.multiplier:
            # Nothing to weigh: spare the Placement call.
            return [0.0] * len(weighed_obj_list)
        sev_hosts = capacity.sev_hosts(req)
        return [1.0 if obj.obj.uuid in sev_hosts else 0.0
                for obj in weighed_obj_list]

    @staticmethod
    def _free_slots(req, hosts):
        """Free slots of the request's model per host, as last read.

        From the hosts' provider trees, which SEVFilter read for models
        that lock memory; for the others a few are read here, as SEVFilter
        would. A host whose tree is not known weighs the mean of those
        known: neither first nor last. Less what earlier instances of a
        multi-create took.
        """
        trait = req.encryption.config.trait
        free = [tree.free(trait) if tree is not None and tree.known else None
                for tree in capacity.view(req).trees(
                    hosts, CONF.sev_scheduler.placement_sample_size)]
        known = [slots for slots in free if slots is not None]
        neutral = sum(known) / len(known) if known else 0.0
        claims = capacity.own_claims(req)
        return [float(max(0, (neutral if slots is None else slots) -
                          claims.on(host_state)))
                for host_state, slots in zip(hosts, free)]

    def _weigh_object(self, host_state, weight_properties):
        return self.weigh_objects([weights.WeighedHost(host_state, 0.0)],
                                  weight_properties)[0]

    def weight_multiplier(self, host_state):
        # The option was read once for the request in weigh_objects().
        multiplier = getattr(self._current, 'multiplier', 0.0)
        # Nova asks once per host: most hosts are in no aggregate.
        if host_state.aggregates and getattr(self._current, 'encrypted',
                                             False):
            return aggregates.lowest(host_state, MULTIPLIER_AGGREGATE_KEY,
                                     multiplier, aggregates.number)
        return multiplier
