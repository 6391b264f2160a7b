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

"""Where the block device mappings of a scheduling request live.

A new server's mappings are in its ``BuildRequest`` in the API database
until it is scheduled; a server being moved has them in its cell database.
The same holds for the rest of what Nova stored about the instance
(``raw_image``).
"""

import contextlib

from nova import context as nova_context
from nova import exception
from nova import objects


def is_move(spec_obj):
    # The conductor restricts every move but a cross-cell resize to the
    # instance's cell; a new boot has no cell yet.
    destination = (spec_obj.requested_destination
                   if spec_obj.obj_attr_is_set('requested_destination')
                   else None)
    return bool(destination and destination.obj_attr_is_set('cell') and
                destination.cell)


@contextlib.contextmanager
def target_instance_cell(context, spec_obj):
    """A context targeted at the cell of the request's existing instance."""
    if is_move(spec_obj):
        cell_mapping = spec_obj.requested_destination.cell
    else:
        # A cross-cell resize: the instance exists, its cell is not named.
        cell_mapping = objects.InstanceMapping.get_by_instance_uuid(
            context, spec_obj.instance_uuid).cell_mapping
    with nova_context.target_cell(context, cell_mapping) as cell_context:
        yield cell_context


def get_for_request(context, spec_obj):
    """Return the BlockDeviceMappingList of the request's instance."""
    uuid = spec_obj.instance_uuid
    if not is_move(spec_obj):
        try:
            return objects.BuildRequest.get_by_instance_uuid(
                context, uuid).block_device_mappings
        except exception.BuildRequestNotFound:
            pass
    with target_instance_cell(context, spec_obj) as cell_context:
        return objects.BlockDeviceMappingList.get_by_instance_uuid(
            cell_context, uuid)
