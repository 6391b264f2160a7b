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

"""A request's image properties as the user wrote them.

The RequestSpec's ImageMeta holds only the properties the running Nova
knows (2025.1 drops ``hw_mem_encryption_model``). Nova keeps every property
of the image an instance was built from in its system metadata
(``image_<name>``): in the BuildRequest for a new server, in the cell
database for a move. A rebuild's new image is not there yet: it is read
from the image service, as the compute will.
"""

from nova import exception
from nova.image import glance
from nova import objects
from nova import utils

from sev_scheduler import block_devices


def _system_metadata(context, spec_obj):
    uuid = spec_obj.instance_uuid
    if not block_devices.is_move(spec_obj):
        try:
            return objects.BuildRequest.get_by_instance_uuid(
                context, uuid).instance.system_metadata
        except exception.BuildRequestNotFound:
            pass
    with block_devices.target_instance_cell(context, spec_obj) as cctxt:
        return objects.Instance.get_by_uuid(
            cctxt, uuid, expected_attrs=['system_metadata']).system_metadata


def get_for_request(context, spec_obj, is_rebuild):
    """The raw properties of the image the instance runs (or will run)."""
    if is_rebuild:
        return glance.API().get(context, spec_obj.image.id)['properties']
    return utils.get_image_from_system_metadata(
        _system_metadata(context, spec_obj))['properties']
