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

import itertools

from nova.objects import fields
from nova import test

from sev_scheduler import compat
from sev_scheduler import request as sev_request
from sev_scheduler.tests.unit import factories


class ReadEncryptionTestCase(test.NoDBTestCase):

    def _read(self, extra_specs=None, **image_properties):
        return sev_request.read_encryption(
            factories.flavor(extra_specs), factories.image(**image_properties))

    def _do_test_model(self, extra_specs, image_properties, model):
        encryption = self._read(extra_specs, **image_properties)
        self.assertIsNone(encryption.error)
        self.assertEqual(model, encryption.model)
        self.assertEqual(model is not None, encryption.requested)

    def _do_test_invalid(self, extra_specs, image_properties, words):
        encryption = self._read(extra_specs, **image_properties)
        self.assertTrue(encryption.requested)
        self.assertIsNone(encryption.config)
        self.assertIn(words, encryption.error)

    def test_nothing_asked_not_requested(self):
        self._do_test_model({}, {}, None)

    def test_flavor_true_amd_sev(self):
        self._do_test_model({'hw:mem_encryption': 'True'}, factories.UEFI,
                            fields.MemEncryptionModel.AMD_SEV)

    def test_image_true_amd_sev(self):
        self._do_test_model({}, dict(factories.UEFI, hw_mem_encryption=True),
                            fields.MemEncryptionModel.AMD_SEV)

    def test_every_amd_model_from_flavor_and_image(self):
        for model, where in itertools.product(compat.AMD_MODELS,
                                              ('flavor', 'image')):
            props = dict(factories.SNP, hw_mem_encryption=True)
            extra_specs = {}
            if where == 'flavor':
                extra_specs['hw:mem_encryption_model'] = model
            else:
                props['hw_mem_encryption_model'] = model
            self._do_test_model(extra_specs, props, model)

    def test_explicit_false_not_requested(self):
        self._do_test_model({'hw:mem_encryption': 'no'}, {}, None)
        self._do_test_model({}, {'hw_mem_encryption': False}, None)

    def test_explicit_false_with_model_not_requested(self):
        self._do_test_model({'hw:mem_encryption': 'false',
                             'hw:mem_encryption_model': 'amd-sev-es'},
                            {}, None)

    def test_intel_tdx_not_ours(self):
        self._do_test_model({'hw:mem_encryption': 'true',
                             'hw:mem_encryption_model': 'intel-tdx'},
                            factories.UEFI, None)

    def test_malformed_boolean_invalid(self):
        # Nova reads 'yes please' as False: we refuse it instead.
        self._do_test_invalid({'hw:mem_encryption': 'yes please'}, {},
                              "'yes please', which is neither true nor false")

    def test_unknown_model_invalid(self):
        self._do_test_invalid({'hw:mem_encryption': 'true',
                               'hw:mem_encryption_model': 'amd-sev-xx'},
                              factories.UEFI, "'amd-sev-xx', which is not")

    def test_unknown_model_with_false_invalid(self):
        self._do_test_invalid({'hw:mem_encryption': 'false',
                               'hw:mem_encryption_model': 'bogus'},
                              {}, "'bogus', which is not")

    def test_empty_model_is_nova_default(self):
        self._do_test_model({'hw:mem_encryption': 'true',
                             'hw:mem_encryption_model': ''},
                            factories.UEFI,
                            fields.MemEncryptionModel.AMD_SEV)
        self._do_test_model({'hw:mem_encryption_model': ''}, {}, None)

    def test_model_without_switch_invalid(self):
        self._do_test_invalid({'hw:mem_encryption_model': 'amd-sev-snp'},
                              {}, "memory encryption is not enabled")
        self._do_test_invalid({}, {'hw_mem_encryption_model': 'amd-sev'},
                              "memory encryption is not enabled")

    def test_missing_uefi_invalid(self):
        self._do_test_invalid({'hw:mem_encryption': 'true'}, {},
                              "'hw_firmware_type' property set to 'uefi'")

    def test_flavor_image_conflict_invalid(self):
        self._do_test_invalid({'hw:mem_encryption': 'true'},
                              dict(factories.UEFI, hw_mem_encryption=False),
                              "conflicting with image")

    def test_snp_without_stateless_firmware_invalid(self):
        self._do_test_invalid({'hw:mem_encryption': 'true',
                               'hw:mem_encryption_model': 'amd-sev-snp'},
                              factories.UEFI, "requires stateless firmware")

    def test_wrong_machine_type_invalid(self):
        self._do_test_invalid({'hw:mem_encryption': 'true'},
                              dict(factories.UEFI, hw_machine_type='pc'),
                              "q35 type is required")


class NamesEncryptionTestCase(test.NoDBTestCase):

    def test_plain_request_names_nothing(self):
        self.assertFalse(sev_request.names_encryption(factories.spec()))

    def test_clear_no_names_nothing(self):
        self.assertFalse(sev_request.names_encryption(
            factories.spec({'hw:mem_encryption': 'off'})))

    def test_any_other_value_or_model_names_encryption(self):
        for extra_specs in ({'hw:mem_encryption': 'true'},
                            {'hw:mem_encryption': 'perhaps'},
                            {'hw:mem_encryption_model': 'amd-sev'}):
            self.assertTrue(sev_request.names_encryption(
                factories.spec(extra_specs)), extra_specs)
        self.assertTrue(sev_request.names_encryption(
            factories.spec(image_properties={'hw_mem_encryption': True})))

    def test_unreadable_spec_names_encryption(self):
        spec_obj = factories.spec()
        del spec_obj.flavor
        self.assertTrue(sev_request.names_encryption(spec_obj))


class ForSpecTestCase(test.NoDBTestCase):

    def test_same_spec_read_once(self):
        spec_obj = factories.encrypted_spec()
        self.assertIs(sev_request.for_spec(spec_obj),
                      sev_request.for_spec(spec_obj))

    def test_other_spec_read_anew(self):
        self.assertIsNot(sev_request.for_spec(factories.encrypted_spec()),
                         sev_request.for_spec(factories.encrypted_spec()))

    def test_rebuild_hint_read(self):
        self.assertTrue(sev_request.for_spec(
            factories.encrypted_spec(rebuild=True)).is_rebuild)
        self.assertFalse(sev_request.for_spec(
            factories.encrypted_spec()).is_rebuild)
