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

import fixtures
from keystoneauth1 import exceptions as ks_exc
from oslo_utils.fixture import uuidsentinel as uuids

from nova import context as nova_context
from nova import objects
from nova.scheduler import weights
from nova import test

from sev_scheduler import capacity
from sev_scheduler import compat
from sev_scheduler import filters
from sev_scheduler import request as sev_request
from sev_scheduler.tests.unit import factories
from sev_scheduler.tests.unit import fake_placement
from sev_scheduler.tests.unit import releases
from sev_scheduler import weighers


def _encrypted_spec(model=None, **kwargs):
    """An encrypted request, with what its BuildRequest would hold.

    No database here: the block device mappings and the image as written
    (which the filter looks up where Nova drops the image's model) are
    given, as check-request gives them.
    """
    spec_obj = factories.encrypted_spec(model, **kwargs)
    sev_request.for_spec(
        spec_obj, block_device_mappings=objects.BlockDeviceMappingList(),
        raw_image_properties=dict(factories.UEFI))
    return spec_obj


class SEVWeigherTestCase(test.NoDBTestCase):

    def setUp(self):
        super().setUp()
        self.placement = fake_placement.use(self)
        # Free amd-sev slots: sev1 7 (child provider), sev2 1 (root).
        self.placement.add_slots(uuids.sev1_amd_sev, uuids.sev1, 'amd-sev',
                                 10, 3)
        self.placement.add_slots(uuids.sev2, uuids.sev2, 'amd-sev', 2, 1)
        if compat.AMD_SEV_ES in compat.AMD_MODELS:
            # And sev2 4 free amd-sev-es slots, where Nova has the model.
            self.placement.add_slots(uuids.sev2_es, uuids.sev2,
                                     'amd-sev-es', 4, 0)
        self.sev1 = factories.sev_host('sev1', layout='child')
        self.sev2 = factories.sev_host('sev2', layout='root')
        self.plain = factories.plain_host('plain')
        self.hosts = [self.sev1, self.sev2, self.plain]

    def _weighed(self, spec_obj, hosts=None):
        """Host names, best first, as Nova's weight handler orders them."""
        handler = weights.HostWeightHandler()
        weighed = handler.get_weighed_objects(
            [weighers.SEVWeigher()], hosts or self.hosts, spec_obj)
        return [(w.obj.host, round(w.weight, 3)) for w in weighed]

    def test_encrypted_spread_by_free_slots(self):
        # Free slots 7, 1, 0, normalised by Nova to 1, 1/7, 0.
        self.assertEqual([('sev1', 1.0), ('sev2', 0.143), ('plain', 0.0)],
                         self._weighed(_encrypted_spec()))
        # One provider tree read per host.
        self.assertEqual(3, self.placement.calls)

    def test_multi_create_weighs_free_slots_less_own_claims(self):
        # Nova filters and weighs once per instance of a multi-create, with
        # the same RequestSpec, consuming the chosen host in between: after
        # six instances on sev1 it has 1 free slot, as sev2 has.
        spec_obj = _encrypted_spec(numa_topology=None)
        spec_obj.num_instances = 7
        filters.SEVFilter().filter_all(list(self.hosts), spec_obj)
        for _ in range(6):
            self.sev1.consume_from_request(spec_obj)
        self.assertEqual({'sev1': 1.0, 'sev2': 1.0, 'plain': 0.0},
                         dict(self._weighed(spec_obj)))
        # The filter read the SEV hosts' trees, the weigher plain's only.
        self.assertEqual(3, self.placement.calls)

    def test_encrypted_pack_with_negative_multiplier(self):
        self.flags(weight_multiplier=-2.0, group='sev_scheduler')
        ranked = self._weighed(_encrypted_spec(),
                               [self.sev1, self.sev2])
        self.assertEqual([('sev2', 0.0), ('sev1', -2.0)], ranked)

    def test_aggregate_multiplier_overrides(self):
        self.sev1.aggregates = [objects.Aggregate(
            metadata={'sev_weight_multiplier': '-1.0'})]
        self.assertEqual([('sev2', 0.0), ('sev1', -1.0)],
                         self._weighed(_encrypted_spec(),
                                       [self.sev1, self.sev2]))

    def test_bad_aggregate_multiplier_ignored(self):
        self.sev1.aggregates = [objects.Aggregate(
            metadata={'sev_weight_multiplier': 'heavy'})]
        self.assertEqual([('sev1', 1.0), ('sev2', 0.0)],
                         self._weighed(_encrypted_spec(),
                                       [self.sev1, self.sev2]))

    def test_aggregate_multiplier_not_finite_ignored(self):
        for value in ('nan', 'inf', '-infinity'):
            self.sev1.aggregates = [objects.Aggregate(
                metadata={'sev_weight_multiplier': value})]
            self.assertEqual([('sev1', 1.0), ('sev2', 0.0)],
                             self._weighed(_encrypted_spec(),
                                           [self.sev1, self.sev2]), value)

    def test_encrypted_unknown_slot_counts_weigh_no_free_slot(self):
        # Neither first nor a NaN that Nova's normalisation spreads.
        for total, used in ((float('inf'), 3), (float('nan'), 3),
                            (None, 3), (10, float('nan')), (10, -90)):
            self.placement.providers[0] = self.placement.providers[
                0]._replace(total=total, used=used)
            # A scheduler that has not read these trees yet.
            self.useFixture(fixtures.MockPatchObject(capacity, 'CACHE',
                                                     capacity.Cache()))
            self.assertEqual(
                [('sev2', 1.0), ('sev1', 0.0), ('plain', 0.0)],
                self._weighed(_encrypted_spec()), (total, used))

    @releases.requires_model(compat.AMD_SEV_ES)
    def test_model_free_slots_weighed(self):
        # sev2 has 4 free SEV-ES slots, sev1 none.
        self.assertEqual([('sev2', 1.0), ('sev1', 0.0)],
                         self._weighed(_encrypted_spec('amd-sev-es'),
                                       [self.sev1, self.sev2]))

    def test_plain_sev_hosts_last(self):
        ranked = self._weighed(factories.spec())
        self.assertEqual(('plain', 0.0), ranked[0])
        self.assertEqual({('sev1', -10.0), ('sev2', -10.0)}, set(ranked[1:]))
        self.assertEqual(1, self.placement.calls)

    def test_plain_multiplier_zero_no_call(self):
        self.flags(plain_on_sev_weight_multiplier=0.0,
                   group='sev_scheduler')
        self.assertEqual({0.0}, {w for _h, w in
                                 self._weighed(factories.spec())})
        self.assertEqual(0, self.placement.calls)

    def test_placement_down_weighs_all_alike(self):
        self.placement.error = ks_exc.ConnectFailure('down')
        self.assertEqual({0.0}, {w for _h, w in
                                 self._weighed(_encrypted_spec())})

    def test_trees_read_once_shared_with_filter(self):
        self.flags(max_guests_per_host=5, group='sev_scheduler')
        spec_obj = _encrypted_spec(
            context=nova_context.get_admin_context())
        passed = list(filters.SEVFilter().filter_all(
            factories.as_nova_hands_them(spec_obj, self.hosts), spec_obj))
        self.assertEqual([self.sev1, self.sev2], passed)
        self._weighed(spec_obj, passed)
        self.assertEqual(2, self.placement.calls)

    def test_single_host_weighed(self):
        self.assertEqual(7.0, weighers.SEVWeigher()._weigh_object(
            self.sev1, _encrypted_spec()))
