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


class Stored:
    """Where Nova keeps what it knows of the request's instance.

    Each place is looked up once: a new server's ``BuildRequest`` (its
    instance and its mappings come in the one row), or the instance's cell,
    which a move names and whose mapping is read otherwise (a cross-cell
    resize).
    """

    _UNREAD = object()

    def __init__(self, context, spec_obj):
        self.context = context
        self.spec = spec_obj
        self._build_request = self._UNREAD
        self._cell_mapping = None

    @property
    def build_request(self):
        """The new server's BuildRequest; None for an existing instance."""
        if self._build_request is self._UNREAD:
            self._build_request = None
            if not is_move(self.spec):
                try:
                    self._build_request = (
                        objects.BuildRequest.get_by_instance_uuid(
                            self.context, self.spec.instance_uuid))
                except exception.BuildRequestNotFound:
                    pass
        return self._build_request

    @contextlib.contextmanager
    def cell(self):
        """A context targeted at the cell of the existing instance."""
        if self._cell_mapping is None:
            if is_move(self.spec):
                self._cell_mapping = self.spec.requested_destination.cell
            else:
                # A cross-cell resize: the instance exists, its cell is
                # not named.
                self._cell_mapping = (
                    objects.InstanceMapping.get_by_instance_uuid(
                        self.context, self.spec.instance_uuid).cell_mapping)
        with nova_context.target_cell(self.context,
                                      self._cell_mapping) as cell_context:
            yield cell_context

    def block_device_mappings(self):
        """The BlockDeviceMappingList of the request's instance."""
        if self.build_request is not None:
            return self.build_request.block_device_mappings
        with self.cell() as cell_context:
            return objects.BlockDeviceMappingList.get_by_instance_uuid(
                cell_context, self.spec.instance_uuid)

    def instance(self):
        """The request's instance, with its system metadata."""
        if self.build_request is not None:
            return self.build_request.instance
        with self.cell() as cell_context:
            return objects.Instance.get_by_uuid(
                cell_context, self.spec.instance_uuid,
                expected_attrs=['system_metadata'])


def get_for_request(context, spec_obj, stored=None):
    """Return the BlockDeviceMappingList of the request's instance.

    :param stored: the request's ``Stored``, when the caller reads more
        from there.
    """
    return (stored or Stored(context, spec_obj)).block_device_mappings()
