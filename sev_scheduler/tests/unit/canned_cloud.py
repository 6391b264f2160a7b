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

"""A Cloud answering from canned API bodies, for the operators' logic.

What the APIs answer, not what the logic does: the bodies are written as
Nova, Placement and Glance show them. The functional tests read the real
services.
"""

from sev_scheduler.operators import cloud as sev_cloud


class CannedCloud(sev_cloud.Cloud):
    """GETs answered from {(service, url): body}; a str body is an error."""

    def __init__(self, bodies):
        super().__init__(dict.fromkeys(sev_cloud.SERVICES))
        self.bodies = bodies
        self.urls = []

    def get(self, service, url, microversion=None):
        self.calls[service] += 1
        self.urls.append((service, url))
        body = self.bodies.get((service, url))
        if body is None:
            raise sev_cloud.CloudError('%s answered 404 to GET %s: not found'
                                       % (sev_cloud.NAMES[service], url),
                                       status=404)
        if isinstance(body, str):
            raise sev_cloud.CloudError(body)
        return body
