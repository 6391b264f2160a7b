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

import copy
from unittest import mock

import fixtures
from oslo_utils.fixture import uuidsentinel as uuids

from nova.compute import task_states
from nova.compute import vm_states
from nova import context as nova_context
from nova import exception
from nova.image import glance
from nova import objects
from nova import test
from nova.tests import fixtures as nova_fixtures

from sev_scheduler import compat
from sev_scheduler import filters
from sev_scheduler import raw_image
from sev_scheduler import request as sev_request
from sev_scheduler.tests.unit import factories
from sev_scheduler.tests.unit import fake_placement
from sev_scheduler.tests.unit import releases

MODEL_KEY = 'hw_mem_encryption_model'


class RawImageTestCase(test.TestCase):
    """Where the filter finds the image properties as the user wrote them."""

    def setUp(self):
        super().setUp()
        self.context = nova_context.get_admin_context()
        self.cell = self.cell_mappings[test.CELL1_NAME]
        self.glance = self.useFixture(nova_fixtures.GlanceFixture(self))

    def _build_request(self, properties):
        """A new server's BuildRequest, its image as the API stored it."""
        instance = objects.Instance(
            context=self.context, uuid=uuids.instance, project_id='project',
            user_id='user', flavor=factories.flavor(),
            system_metadata={'image_' + key: value
                             for key, value in properties.items()})
        objects.BuildRequest(
            context=self.context, instance_uuid=uuids.instance,
            project_id='project', instance=instance, tags=objects.TagList(),
            block_device_mappings=objects.BlockDeviceMappingList()).create()

    def _instance_in_cell(self, properties, **fields):
        system_metadata = {'image_' + key: value
                           for key, value in properties.items()}
        system_metadata.update(fields.pop('system_metadata', {}))
        with nova_context.target_cell(self.context, self.cell) as cctxt:
            objects.Instance(
                context=cctxt, uuid=uuids.instance, project_id='project',
                user_id='user', system_metadata=system_metadata,
                **fields).create()
        objects.InstanceMapping(
            context=self.context, instance_uuid=uuids.instance,
            cell_mapping=self.cell, project_id='project').create()

    def test_new_boot_reads_build_request(self):
        self._build_request({MODEL_KEY: 'amd-sev-es'})
        properties = raw_image.read(
            self.context, factories.spec(), is_rebuild=False).properties
        self.assertEqual('amd-sev-es', properties[MODEL_KEY])

    def test_move_reads_instance_cell(self):
        self._instance_in_cell({MODEL_KEY: 'amd-sev-snp'})
        spec_obj = factories.spec(requested_destination=objects.Destination(
            cell=self.cell))
        properties = raw_image.read(
            self.context, spec_obj, is_rebuild=False).properties
        self.assertEqual('amd-sev-snp', properties[MODEL_KEY])

    def test_rebuild_reads_new_image_from_glance(self):
        # The instance still holds the old image; the compute will spawn
        # from the new one.
        self._instance_in_cell({MODEL_KEY: 'amd-sev'})
        image = copy.deepcopy(self.glance.image1)
        image['id'] = uuids.new_image
        image['properties'] = {MODEL_KEY: 'amd-sev-es'}
        self.glance.create(None, image)
        spec_obj = factories.spec()
        spec_obj.image.id = uuids.new_image
        properties = raw_image.read(
            self.context, spec_obj, is_rebuild=True).properties
        self.assertEqual('amd-sev-es', properties[MODEL_KEY])

    def _shelved_in_cell(self, properties, snapshot_properties,
                         task_state=task_states.UNSHELVING):
        """An offloaded server and its snapshot, as its owner left it."""
        image = copy.deepcopy(self.glance.image1)
        image['id'] = uuids.snapshot
        image['properties'] = dict(snapshot_properties)
        self.glance.create(None, image)
        self._instance_in_cell(
            properties, vm_state=vm_states.SHELVED_OFFLOADED,
            task_state=task_state,
            system_metadata={'shelved_image_id': uuids.snapshot})

    def _move(self, **kwargs):
        return factories.spec(requested_destination=objects.Destination(
            cell=self.cell), **kwargs)

    def test_unshelve_reads_snapshot_from_glance(self):
        # The compute spawns from the snapshot as it is now.
        self._shelved_in_cell({MODEL_KEY: 'amd-sev'},
                              {MODEL_KEY: 'amd-sev-es'})
        raw = raw_image.read(self.context, self._move(), is_rebuild=False)
        self.assertEqual('amd-sev-es', raw.properties[MODEL_KEY])
        self.assertEqual(uuids.snapshot, raw.unshelve_image['id'])

    def test_shelved_not_unshelving_reads_instance(self):
        self._shelved_in_cell({MODEL_KEY: 'amd-sev'},
                              {MODEL_KEY: 'amd-sev-es'}, task_state=None)
        raw = raw_image.read(self.context, self._move(), is_rebuild=False)
        self.assertEqual('amd-sev', raw.properties[MODEL_KEY])
        self.assertIsNone(raw.unshelve_image)

    def test_unknown_instance_raises(self):
        self.assertRaises(exception.InstanceMappingNotFound,
                          raw_image.read, self.context,
                          factories.spec(), False)


@releases.drops_image_model
class DroppedImageModelTestCase(test.NoDBTestCase):
    """An image model the running Nova drops before the scheduler."""

    def setUp(self):
        super().setUp()
        # amd-sev locks memory: the filter reads Placement's ratio.
        fake_placement.use(self)
        self.filter = filters.SEVFilter()
        self.host = factories.sev_host('sev', layout='root')

    def _filter(self, raw_properties, **spec_kwargs):
        spec_obj = factories.encrypted_spec(**spec_kwargs)
        sev_request.for_spec(
            spec_obj, block_device_mappings=objects.BlockDeviceMappingList(),
            raw_image_properties=raw_properties)
        return self.filter.filter_all([self.host], spec_obj)

    def test_image_model_nova_ignores_fails(self):
        # The spec's image has no model: Nova dropped it.
        error = self.assertRaises(
            exception.NoValidHost, self._filter,
            dict(factories.UEFI, hw_mem_encryption_model='amd-sev-es'))
        self.assertIn("model 'amd-sev-es' needs OpenStack 2025.2",
                      error.format_message())

    def test_move_with_image_model_nova_ignores_passes(self):
        # Nova started an AMD SEV guest before the filter was there: moving
        # it keeps it AMD SEV, and refusing an evacuation would strand it.
        destination = objects.Destination(cell=objects.CellMapping(
            uuid=uuids.cell, name='cell1'))
        self.assertEqual([self.host], list(self._filter(
            dict(factories.UEFI, hw_mem_encryption_model='amd-sev-es'),
            requested_destination=destination)))

    def test_unknown_image_model_fails(self):
        error = self.assertRaises(
            exception.NoValidHost, self._filter,
            dict(factories.UEFI, hw_mem_encryption_model='amd-sev-xyz'))
        self.assertIn("hw_mem_encryption_model property is 'amd-sev-xyz'",
                      error.format_message())

    def test_image_model_amd_sev_passes(self):
        # What Nova starts anyway.
        self.assertEqual([self.host], list(self._filter(
            dict(factories.UEFI, hw_mem_encryption_model='amd-sev'))))

    def test_plain_request_with_image_model_passes(self):
        # A plain request is never looked up, nor refused for a key this
        # Nova does not have.
        spec_obj = factories.spec(image_properties=dict(
            factories.UEFI, hw_mem_encryption_model='amd-sev-es'))
        with mock.patch.object(raw_image, 'read') as read:
            self.assertEqual([self.host], list(
                self.filter.filter_all([self.host], spec_obj)))
        read.assert_not_called()


class ImageAsWrittenTestCase(RawImageTestCase):
    """Requests judged by the image as written, on real Nova objects."""

    def _read(self, spec_obj):
        return sev_request.Request(spec_obj)

    def _do_test_malformed(self, value):
        uuid = getattr(uuids, value)
        factories.build_request(self.context, uuid, image_properties=dict(
            factories.UEFI, hw_mem_encryption=value))
        # Nova's ImageMeta reads the value as False.
        spec_obj = factories.spec(image_properties=dict(
            factories.UEFI, hw_mem_encryption=value), instance_uuid=uuid)
        self.assertIs(False, spec_obj.image.properties.hw_mem_encryption)
        encryption = self._read(spec_obj).encryption
        self.assertTrue(encryption.requested)
        self.assertIn("the image's hw_mem_encryption property is %r, which "
                      "is neither true nor false" % value, encryption.error)

    def test_new_boot_malformed_image_values_invalid(self):
        for value in ('maybe', 'yes please', '\uff34\uff32\uff35\uff25',
                      'enabled'):
            self._do_test_malformed(value)

    def test_new_boot_false_image_value_not_requested(self):
        factories.build_request(self.context, image_properties={
            'hw_mem_encryption': 'False'})
        self.assertFalse(self._read(factories.spec(image_properties={
            'hw_mem_encryption': 'False'})).encryption.requested)

    def test_image_without_key_not_looked_up(self):
        # No BuildRequest and no instance: a lookup would raise.
        self.assertFalse(self._read(factories.spec()).encryption.requested)

    def test_move_malformed_image_value_invalid(self):
        self._instance_in_cell({'hw_mem_encryption': 'maybe'})
        encryption = self._read(self._move(image_properties={
            'hw_mem_encryption': 'maybe'})).encryption
        self.assertIn("property is 'maybe'", encryption.error)

    def test_unshelve_snapshot_turning_encryption_on_invalid(self):
        self._shelved_in_cell({}, dict(factories.UEFI,
                                       hw_mem_encryption='true'))
        encryption = self._read(self._move()).encryption
        self.assertIn("shelved image %s now asks for memory encryption "
                      "(amd-sev) but the server was shelved with no memory "
                      "encryption" % uuids.snapshot, encryption.error)

    def test_unshelve_snapshot_turning_encryption_off_invalid(self):
        self._shelved_in_cell(
            dict(factories.UEFI, hw_mem_encryption='true'),
            dict(factories.UEFI, hw_mem_encryption='false'))
        encryption = self._read(self._move(image_properties=dict(
            factories.UEFI, hw_mem_encryption='true'))).encryption
        self.assertIn("now asks for no memory encryption",
                      encryption.error)

    def test_unshelve_judged_by_snapshot_image(self):
        snapshot = dict(factories.UEFI, hw_mem_encryption='true',
                        hw_cdrom_bus='ide')
        self._shelved_in_cell({}, snapshot)
        request = self._read(self._move(image_properties=dict(
            factories.UEFI, hw_mem_encryption='true')))
        self.assertEqual(compat.AMD_SEV, request.encryption.model)
        self.assertEqual('ide', request.image_properties.hw_cdrom_bus)
        self.assertEqual(uuids.snapshot, request.image.id)

    def _spy_on_glance(self):
        return self.useFixture(fixtures.MockPatchObject(
            glance.API, 'get', wraps=glance.API().get)).mock

    def test_other_move_reads_no_image(self):
        self._instance_in_cell({'hw_mem_encryption': 'true'})
        get = self._spy_on_glance()
        self._read(self._move())
        get.assert_not_called()

    def test_unshelve_reads_snapshot_once(self):
        self._shelved_in_cell({}, {})
        get = self._spy_on_glance()
        spec_obj = self._move()
        # Nova filters every instance of a request with the same spec.
        sev_request.for_spec(spec_obj)
        sev_request.for_spec(spec_obj)
        get.assert_called_once_with(mock.ANY, uuids.snapshot)

    def test_unshelve_unknown_snapshot_model_invalid(self):
        self._shelved_in_cell({}, dict(factories.UEFI,
                                       hw_mem_encryption='true',
                                       hw_mem_encryption_model='amd-sev-xyz'))
        encryption = self._read(self._move(image_properties=dict(
            factories.UEFI, hw_mem_encryption='true'))).encryption
        self.assertIn("hw_mem_encryption_model property is 'amd-sev-xyz'",
                      encryption.error)


class LookupCountTestCase(RawImageTestCase):
    """What Nova stored about the instance is read once per request.

    2025.1 drops the image's model: the filter reads the image as written
    as well as the block device mappings, from the same place.
    """

    def setUp(self):
        super().setUp()
        fake_placement.use(self)
        self.host = factories.sev_host('sev', layout='root')

    def _spy(self, cls):
        return self.useFixture(fixtures.MockPatchObject(
            cls, 'get_by_instance_uuid',
            wraps=cls.get_by_instance_uuid)).mock

    def _filter(self):
        spec_obj = factories.encrypted_spec(context=self.context)
        return list(filters.SEVFilter().filter_all([self.host], spec_obj))

    def test_encrypted_boot_reads_build_request_once_passes(self):
        self._build_request(dict(factories.UEFI, hw_mem_encryption='true'))
        get = self._spy(objects.BuildRequest)
        self.assertEqual([self.host], self._filter())
        self.assertEqual(1, get.call_count)

    def test_move_reads_instance_mapping_once_passes(self):
        # A cross-cell resize: the request names no cell.
        self._instance_in_cell(dict(factories.UEFI,
                                    hw_mem_encryption='true'))
        get = self._spy(objects.InstanceMapping)
        self.assertEqual([self.host], self._filter())
        self.assertEqual(1, get.call_count)
