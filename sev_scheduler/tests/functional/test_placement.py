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

from sev_scheduler.tests.functional import base


class PlacementTestCase(base.SEVTestBase):
    """SEV requests land on SEV hosts with free slots; others anywhere."""

    def setUp(self):
        super().setUp()
        self.start_host('sev1', slots=2)
        self.start_host('plain1')

    def test_sev_flavor_lands_on_sev_host(self):
        server = self.boot(flavor='sev', image='sev')
        self.assertEqual('sev1', self.host_of(server))
        self.assertEqual(1, self.slots_used('sev1'))

    def test_sev_image_lands_on_sev_host(self):
        server = self.boot(image='sev')
        self.assertEqual('sev1', self.host_of(server))
