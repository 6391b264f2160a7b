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

"""mdev vGPU: a mediated device is host memory the guest cannot encrypt."""

import os_resource_classes as orc

from nova.scheduler import utils as scheduler_utils

from sev_scheduler.checks import base


def _is_nonzero(amount):
    try:
        return int(amount) != 0
    except (TypeError, ValueError):
        # Not a count Nova could use either: refuse rather than guess.
        return True


class MdevVgpuCheck(base.RequestCheck):
    """Memory encryption cannot be used with a VGPU in any request group."""

    def conflicts(self, request):
        conflicts = []
        for key, amount in sorted(request.extra_specs.items()):
            # The key syntax Nova parses: resources[$SUFFIX]:$CLASS.
            match = scheduler_utils.ResourceRequest.XS_KEYPAT.match(key)
            if not match:
                continue
            prefix, _suffix, resource_class = match.groups()
            if (prefix == scheduler_utils.ResourceRequest.XS_RES_PREFIX and
                    resource_class == orc.VGPU and _is_nonzero(amount)):
                conflicts.append(
                    "mdev vGPU: flavor extra spec %s=%s" % (key, amount))
        return conflicts
