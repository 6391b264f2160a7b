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

"""Cyborg accelerators: a device passed through to the guest, like PCI.

Cyborg devices make no PCI request. A flavor's ``accel:device_profile``,
and a port with vnic_type ``accelerator-direct`` or
``accelerator-direct-physical``, become request groups in
``RequestSpec.requested_resources`` named by the device profile group
(``nova.accelerator.cyborg.get_device_profile_group_requester_id``: the
group's index, then the port's UUID for a port). The flavor key alone counts
too, as Nova does not rebuild the groups on every move.
"""

from oslo_utils import uuidutils

from nova.accelerator import cyborg

from sev_scheduler.checks import base
from sev_scheduler.i18n import _

DEVICE_PROFILE_KEY = 'accel:device_profile'
#: What every device profile group's requester_id starts with.
REQUESTER_PREFIX = cyborg.get_device_profile_group_requester_id('', None)
_UUID_LENGTH = 36


def _requested_groups(spec_obj):
    if not spec_obj.obj_attr_is_set('requested_resources'):
        return []
    return spec_obj.requested_resources or []


def port_of(requester_id):
    """The port a device profile group is for, '' for the flavor's.

    None when the requester is not a device profile group.
    """
    if not (requester_id or '').startswith(REQUESTER_PREFIX):
        return None
    tail = requester_id[-_UUID_LENGTH:]
    return tail if uuidutils.is_uuid_like(tail) else ''


class AcceleratorsCheck(base.RequestCheck):
    """Memory encryption cannot be used with Cyborg accelerators."""

    def conflicts(self, request):
        conflicts = []
        profile = request.extra_specs.get(DEVICE_PROFILE_KEY)
        if profile:
            conflicts.append(
                _("Cyborg accelerator: flavor device profile '%s'")
                % profile)
        for group in _requested_groups(request.spec):
            requester = (group.requester_id
                         if group.obj_attr_is_set('requester_id') else None)
            port = port_of(requester)
            if port is None or not port and profile:
                continue
            conflict = (_("Cyborg accelerator: port %s") % port if port
                        else _("Cyborg accelerator: device profile group %s")
                        % requester)
            if conflict not in conflicts:
                conflicts.append(conflict)
        return conflicts
