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

from oslo_utils.fixture import uuidsentinel as uuids

from nova import context as nova_context
from nova import exception
from nova import objects
from nova import test
from nova.tests import fixtures as nova_fixtures

from sev_scheduler import compat
from sev_scheduler import filters
from sev_scheduler import raw_image
from sev_scheduler import request as sev_request
from sev_scheduler.tests.unit import factories

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

    def _instance_in_cell(self, properties):
        with nova_context.target_cell(self.context, self.cell) as cctxt:
            objects.Instance(
                context=cctxt, uuid=uuids.instance, project_id='project',
                user_id='user', system_metadata={
                    'image_' + key: value
                    for key, value in properties.items()}).create()
        objects.InstanceMapping(
            context=self.context, instance_uuid=uuids.instance,
            cell_mapping=self.cell, project_id='project').create()

    def test_new_boot_reads_build_request(self):
        self._build_request({MODEL_KEY: 'amd-sev-es'})
        properties = raw_image.get_for_request(
            self.context, factories.spec(), is_rebuild=False)
        self.assertEqual('amd-sev-es', properties[MODEL_KEY])

    def test_move_reads_instance_cell(self):
        self._instance_in_cell({MODEL_KEY: 'amd-sev-snp'})
        spec_obj = factories.spec(requested_destination=objects.Destination(
            cell=self.cell))
        properties = raw_image.get_for_request(
            self.context, spec_obj, is_rebuild=False)
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
        properties = raw_image.get_for_request(
            self.context, spec_obj, is_rebuild=True)
        self.assertEqual('amd-sev-es', properties[MODEL_KEY])

    def test_unknown_instance_raises(self):
        self.assertRaises(exception.InstanceMappingNotFound,
                          raw_image.get_for_request, self.context,
                          factories.spec(), False)


class DroppedImageModelTestCase(test.NoDBTestCase):
    """An image model the running Nova drops before the scheduler."""

    def setUp(self):
        super().setUp()
        if compat.READS_IMAGE_MODEL:
            self.skipTest('Nova reads %s itself on this release (2025.2 and '
                          'later): the RequestSpec carries it' % MODEL_KEY)
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
        self.assertEqual([self.host],
                         list(self.filter.filter_all([self.host], spec_obj)))
