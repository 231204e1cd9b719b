"""Pictures: the top-down room view and reprojections onto camera frames."""

from __future__ import annotations

import numpy as np
from fusion_data import ceiling_room, standing_person

from orpose_ros.drawing.room import (
    BACKGROUND,
    FLOOR_SEEN,
    TopDownView,
    draw_reprojections,
    draw_top_down,
    floor_seen,
    id_colour,
)
from orpose_ros.fusion.pipeline import TRIANGULATED, FusedPerson
from orpose_ros.skeleton import track_colour


def person(x: float, y: float, track_id: int) -> FusedPerson:
    joints = standing_person((x, y))
    return FusedPerson(joints, np.ones(17), np.full(17, 2), np.zeros(17), 0.9, ("cam1",), (0,), TRIANGULATED, track_id)


def test_colours_are_stable_and_distinct() -> None:
    assert id_colour(3) == id_colour(3)
    assert id_colour(0) == (153, 153, 153)  # unconfirmed: the grey of an untracked marker (0.6)
    colours = {id_colour(i) for i in range(20)}
    assert len(colours) == 20


def test_a_person_has_the_same_colour_in_pictures_and_in_rviz() -> None:
    """Published id 7: its picture colour is its markers' colour (BGR 0..255 vs RGB 0..1)."""
    r, g, b = track_colour(7)
    assert id_colour(7) == (round(255 * b), round(255 * g), round(255 * r))


def test_top_down_view_places_people_and_cameras() -> None:
    calibration = ceiling_room(3)
    view = TopDownView.around(calibration, size_px=400)
    assert max(view.width, view.height) == 400
    np.testing.assert_allclose(view.to_pixels(np.array([view.x_min_m, view.y_max_m, 5.0])), [0.0, 0.0])
    image = draw_top_down(view, calibration, [person(0.5, -0.5, 7)], title="t")
    assert image.shape == (view.height, view.width, 3)
    assert image.dtype == np.uint8
    u, v = np.round(view.to_pixels(np.array([0.5, -0.5]))).astype(int)
    patch = image[v - 15 : v + 15, u - 15 : u + 15].reshape(-1, 3)
    assert (patch == id_colour(8)).all(axis=1).any()  # tracker id 7 = published id 8, near its position
    for camera in calibration.cameras:
        cu, cv = np.round(view.to_pixels(camera.centre_world)).astype(int)
        assert (image[cv, cu] != BACKGROUND).any()


def test_reprojections_land_on_the_camera_frame() -> None:
    camera = ceiling_room(3).camera("cam2")
    frame = np.zeros((480, 640, 3), np.uint8)
    drawn = draw_reprojections(frame, camera, [person(0.0, 0.0, 2)])
    assert (frame == 0).all()
    assert drawn.shape == frame.shape
    u, v = np.round(camera.project(standing_person((0.0, 0.0))[5])).astype(int)
    assert (drawn[v - 3 : v + 4, u - 3 : u + 4].reshape(-1, 3) == id_colour(3)).all(axis=1).any()


def test_a_person_outside_the_picture_is_marked_at_its_border_and_counted() -> None:
    calibration = ceiling_room(3)
    view = TopDownView.around(calibration, size_px=400)  # the cameras sit about 3 m from the centre
    inside, far = person(0.0, 0.0, 1), person(view.x_min_m + view.width / view.pixels_per_m + 2.0, 0.0, 4)
    assert view.outside([inside, far]) == [far]
    edge = person(view.x_min_m + 0.05, 0.0, 2)  # centre just inside the left border
    assert view.outside([edge]) == []
    assert view.outside([person(view.x_min_m - 0.05, 0.0, 2)]) != []
    image = draw_top_down(view, calibration, [inside, far])
    border = image[:, -12:].reshape(-1, 3)
    assert (border == id_colour(5)).all(axis=1).any()  # its marker at the right border (tracker id 4)
    whole = TopDownView.around(calibration, np.array([inside.joints, far.joints]), 400)
    assert whole.outside([inside, far]) == []  # a view framed on everyone holds everyone


def test_the_floor_each_camera_sees_is_outlined() -> None:
    calibration = ceiling_room(3)
    camera = calibration.cameras[0]
    outline = floor_seen(camera, calibration.floor)
    assert len(outline) > 20
    np.testing.assert_allclose(outline[:, 2], 0.0, atol=1e-9)  # on the floor
    uv = camera.project(outline)  # on the image border where the floor is within range
    on_border = np.minimum(uv, [[639, 479]] - uv).min(axis=1) < 1e-6
    within = np.linalg.norm(outline[:, :2] - camera.centre_world[:2], axis=1) < 15.0 - 1e-6
    assert on_border[within].all()
    assert 0 < within.sum() < len(outline)  # this camera sees the horizon
    looking_up = camera.with_pose(camera.T_world_from_camera @ np.diag([1.0, -1.0, -1.0, 1.0]))
    assert len(floor_seen(looking_up, calibration.floor)) == 0  # a camera looking at the ceiling sees no floor
    image = draw_top_down(TopDownView.around(calibration, size_px=400), calibration, [])
    assert (image.reshape(-1, 3) == FLOOR_SEEN).all(axis=1).sum() > 100
