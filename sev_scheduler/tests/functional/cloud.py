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

"""The in-process cloud reached through the operator tools' own clients.

The operator commands read the cloud over HTTP with keystoneauth, as
against a real cloud: Nova's real API and Placement through wsgi-intercept,
Glance's and Neutron's shims over Nova's fixtures. The demo runs the tools
against the same cloud: the code lives in ``sev_scheduler.demo.apis``.
"""

from sev_scheduler.demo import apis
from sev_scheduler.tests.functional import base


class OperatorTestBase(apis.OperatorAPIs, base.SEVTestBase):
    """SEV hosts, and the operator tools' Cloud on the in-process APIs."""
