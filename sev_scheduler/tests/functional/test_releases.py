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

"""What differs between the supported Nova releases, on the real cloud.

A model the running Nova does not honour (amd-sev-es before 2025.2,
amd-sev-snp before 2026.2) is refused with the release that supports it,
never started as another model; ``[libvirt] num_memory_encrypted_guests``
caps a host's slots until 2026.2 removes it.
"""

from nova.tests.functional.api import client

from sev_scheduler import compat
from sev_scheduler.tests.functional import base


class UnsupportedModelTestCase(base.SEVTestBase):
    """A model of a later release is refused, whatever asks for it.

    Nova 2025.1 reads no model key: the request reaches SEVFilter, which
    refuses it with the release that supports the model. Since 2025.2 Nova
    checks a model's value itself, at the API: the request is refused there
    and never reaches the scheduler (an image's value with a 400 naming it;
    a flavor's with a 500, Nova's API not catching its own Invalid).
    """

    # As in production: boots and rebuilds are cast to the conductor.
    CAST_AS_CALL = False

    def setUp(self):
        super().setUp()
        # The host has what the models would need, stateless firmware
        # included, so that Placement offers it and SEVFilter decides.
        self.start_host('sev1', slots=4, es_slots=4, stateless_firmware=True)

    def _do_test_refused(self, model, flavor='sev', image='sev'):
        """Boot; return the API's refusal, if Nova refused at the API."""
        if compat.READS_MODEL_KEYS:
            error = self.assertRaises(
                client.OpenStackApiException, self.boot, flavor=flavor,
                image=image, expected_state='ERROR')
            self.assertIn(error.response.status_code, (400, 500))
            self.assertEqual([], self.api.get_servers())
            return error
        server = self.boot(flavor=flavor, image=image, expected_state='ERROR')
        self.assert_refused(server, "'%s'" % model,
                            compat.FIRST_RELEASE[model].split()[0])
        # Not started as another model: nothing was allocated at all.
        self.assertEqual({}, self._get_allocations_by_server_uuid(
            server['id']))
        self.assertEqual(0, self.slots_used('sev1'))
        return None

    def _do_test_image_refused(self, model, image):
        error = self._do_test_refused(model, image=image)
        if error is not None:
            self.assertEqual(400, error.response.status_code)
            self.assertIn(model, str(error))

    def _do_test_flavor_refused(self, model):
        self.create_flavor(model, {'hw:mem_encryption': 'true',
                                   'hw:mem_encryption_model': model})
        self._do_test_refused(model, flavor=model)

    @base.refused_model(compat.AMD_SEV_ES)
    def test_sev_es_image_refused(self):
        self._do_test_image_refused(compat.AMD_SEV_ES, 'sev_es')

    @base.refused_model(compat.AMD_SEV_ES)
    def test_sev_es_flavor_refused(self):
        self._do_test_flavor_refused(compat.AMD_SEV_ES)

    @base.refused_model(compat.AMD_SEV_SNP)
    def test_sev_snp_image_refused(self):
        self._do_test_image_refused(compat.AMD_SEV_SNP, 'sev_snp')

    @base.refused_model(compat.AMD_SEV_SNP)
    def test_sev_snp_flavor_refused(self):
        self._do_test_flavor_refused(compat.AMD_SEV_SNP)

    @base.refused_model(compat.AMD_SEV_ES)
    def test_rebuild_to_sev_es_image_refused(self):
        # A new image goes through SEVFilter again, with its model.
        server = self.boot(image='sev')
        self.api.post_server_action(
            server['id'], {'rebuild': {'imageRef': self.images['sev_es']}})
        server = self._wait_for_state_change(server, 'ERROR')
        self.assert_refused(server, "'amd-sev-es'", '2025.2')
        self.assertEqual(self.images['sev'], server['image']['id'])
        self.assert_holds_one_slot(server, 'sev1')

    def test_sev_without_model_boots(self):
        # A plain SEV request is never refused for a key this Nova lacks.
        server = self.boot(image='sev')
        self.assert_holds_one_slot(server, 'sev1')


@base.needs_slot_option
class SlotOptionTestCase(base.SEVTestBase):
    """``[libvirt] num_memory_encrypted_guests`` against ``maxGuests``."""

    def test_option_below_max_guests_caps_slots(self):
        self.flags(group='libvirt', **{compat.LIBVIRT_SLOT_OPTION: 1})
        self.start_host('sev1', slots=4)
        self.assertEqual(1, self.slots_total('sev1'))
        server = self.boot(image='sev')
        self.assert_holds_one_slot(server, 'sev1')
        self.boot(image='sev', expected_state='ERROR')
        self.assertEqual(1, self.slots_used('sev1'))

    def test_option_above_max_guests_ignored(self):
        self.flags(group='libvirt', **{compat.LIBVIRT_SLOT_OPTION: 8})
        self.start_host('sev1', slots=2)
        self.assertEqual(2, self.slots_total('sev1'))
