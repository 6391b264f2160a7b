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

"""SEVFilter on what the running Nova cannot honour.

A request for a model that Nova would ignore or misread is refused, naming
the model and the release that supports it; a plain request is never
refused because a key does not exist on this release.
"""

from unittest import mock

from oslo_utils.fixture import uuidsentinel as uuids

from nova import context as nova_context
from nova import exception
from nova import test
from nova import version

from sev_scheduler import compat
from sev_scheduler import filters
from sev_scheduler import raw_image
from sev_scheduler.tests.unit import factories
from sev_scheduler.tests.unit import fake_placement
from sev_scheduler.tests.unit import releases

ES_FLAVOR = {'hw:mem_encryption': 'true',
             'hw:mem_encryption_model': 'amd-sev-es'}
SNP_FLAVOR = {'hw:mem_encryption': 'true',
              'hw:mem_encryption_model': 'amd-sev-snp'}
TDX_FLAVOR = {'hw:mem_encryption': 'true',
              'hw:mem_encryption_model': 'intel-tdx'}
# An image any model accepts: SNP's stateless firmware, TDX's no video.
ANY_MODEL_IMAGE = dict(factories.SNP, hw_video_model='none')


class UnhonouredModelTestCase(test.TestCase):

    def setUp(self):
        super().setUp()
        self.context = nova_context.get_admin_context()
        self.placement = fake_placement.use(self)
        self.filter = filters.SEVFilter()
        self.sev1 = factories.sev_host('sev1', layout='root')
        self.sev2 = factories.sev_host('sev2', layout='child')
        self.plain = factories.plain_host('plain')
        self.hosts = [self.sev1, self.sev2, self.plain]

    def _boot(self, extra_specs, image_properties,
              instance_uuid=uuids.instance):
        """A new server's request, its image as written in the BuildRequest.

        As the API saves it: the filter looks there where Nova drops the
        image's model.
        """
        factories.build_request(self.context, instance_uuid,
                                image_properties=image_properties)
        return factories.spec(extra_specs, image_properties,
                              instance_uuid=instance_uuid)

    def _passing(self, spec_obj):
        return list(self.filter.filter_all(
            factories.as_nova_hands_them(spec_obj, self.hosts), spec_obj))

    def _assert_refused_naming(self, spec_obj, model, release):
        error = self.assertRaises(exception.NoValidHost, self._passing,
                                  spec_obj)
        message = error.format_message()
        self.assertIn("memory encryption model '%s' needs OpenStack %s"
                      % (model, release), message)
        self.assertIn('Nova %s' % version.version_string(), message)

    # Refused, naming the release

    @releases.refuses_model(compat.AMD_SEV_ES)
    def test_amd_sev_es_flavor_fails(self):
        self._assert_refused_naming(self._boot(ES_FLAVOR, factories.UEFI),
                                    'amd-sev-es', '2025.2')

    @releases.refuses_model(compat.AMD_SEV_ES)
    def test_amd_sev_es_image_fails(self):
        # Nova drops the image's model before the scheduler: the filter
        # reads the image as written from the BuildRequest.
        spec_obj = self._boot({}, dict(
            factories.UEFI, hw_mem_encryption=True,
            hw_mem_encryption_model='amd-sev-es'))
        self._assert_refused_naming(spec_obj, 'amd-sev-es', '2025.2')

    @releases.refuses_model(compat.AMD_SEV_SNP)
    def test_amd_sev_snp_flavor_fails(self):
        self._assert_refused_naming(self._boot(SNP_FLAVOR, factories.SNP),
                                    'amd-sev-snp', '2026.2')

    @releases.refuses_model(compat.INTEL_TDX)
    def test_intel_tdx_flavor_fails(self):
        self._assert_refused_naming(
            self._boot(TDX_FLAVOR, ANY_MODEL_IMAGE), 'intel-tdx', '2026.2')

    @releases.drops_image_model
    def test_every_later_model_in_image_fails(self):
        for model, release in sorted(compat.FIRST_RELEASE.items()):
            spec_obj = self._boot(
                {'hw:mem_encryption': 'true'},
                dict(ANY_MODEL_IMAGE, hw_mem_encryption_model=model),
                instance_uuid=getattr(uuids, model))
            self._assert_refused_naming(spec_obj, model, release)

    # Honoured: placed

    def test_amd_sev_named_passes(self):
        spec_obj = self._boot(
            {'hw:mem_encryption': 'true',
             'hw:mem_encryption_model': 'amd-sev'}, factories.UEFI)
        self.assertEqual([self.sev1, self.sev2], self._passing(spec_obj))

    def test_image_without_model_key_passes(self):
        spec_obj = self._boot({}, dict(factories.UEFI,
                                       hw_mem_encryption=True))
        self.assertEqual([self.sev1, self.sev2], self._passing(spec_obj))

    # Plain requests: never refused, never looked up (no BuildRequest here)

    def test_plain_request_passes(self):
        with mock.patch.object(raw_image, 'read') as read:
            self.assertEqual(self.hosts, self._passing(factories.spec()))
        read.assert_not_called()

    def test_flavor_switched_off_with_any_model_passes(self):
        for model in compat.ALL_AMD_MODELS + (compat.INTEL_TDX,):
            spec_obj = factories.spec({'hw:mem_encryption': 'false',
                                       'hw:mem_encryption_model': model})
            self.assertEqual(self.hosts, self._passing(spec_obj), model)

    def test_image_switched_off_with_model_passes(self):
        # Looked up: Nova reads a malformed image value as False too.
        spec_obj = self._boot({}, {'hw_mem_encryption': 'false',
                                   'hw_mem_encryption_model': 'amd-sev-es'})
        self.assertEqual(self.hosts, self._passing(spec_obj))

    def test_isolation_plain_request_with_model_switched_off_passes(self):
        self.flags(isolate_sev_hosts=True, group='sev_scheduler')
        self.placement.add_slots(uuids.sev1, uuids.sev1, 'amd-sev', 4)
        self.placement.add_slots(uuids.sev2_amd_sev, uuids.sev2, 'amd-sev', 4)
        spec_obj = factories.spec({'hw:mem_encryption': 'false',
                                   'hw:mem_encryption_model': 'amd-sev-snp'})
        self.assertEqual([self.plain], self._passing(spec_obj))
